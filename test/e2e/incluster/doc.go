// Package incluster is the end-to-end test of vnfguard as operators run it: its own OCI image in the lab's
// registry, installed with its Helm chart onto the lab's real kubelet and containerd, two replicas behind a Service
// that the real API server calls. It shows the Peirates pod denied through the installed vnfguard and measures what
// callers see while one replica is deleted (graceful) and while one is killed with SIGKILL.
//
// Needs root and the real-node binaries (make controlplane, hack/node-deps.sh); one real-node test per machine.
package incluster
