// Package nodesensor is vnfguard's view of a node from below the API server: the containers and tasks of the
// node's containerd, in every containerd namespace (the kubelet's k8s.io, Docker's moby, ctr's default), taken
// whole at start and then followed through containerd's events, and the account the CRI plugin keeps of what the
// kubelet made through it.
//
// What the API server never sees happens here: a container started through a container engine (the Doki and
// TeamTNT path of FGT5013), or made in the kubelet's own namespace with ctr. Labels prove nothing — any client can
// write the kubelet's labels and even its CRI metadata extension onto a container — so a container counts as the
// kubelet's only when the CRI plugin itself lists it (CRI ListContainers / ListPodSandbox: its store holds what
// was created through the CRI, nothing else).
//
// The Sensor reports a finding per container that nothing accounts for (check_rogue_container.go), once per
// container and again after a restart of the sensor, since it takes the inventory anew: what started while it was
// down is found from the runtime's state.
package nodesensor
