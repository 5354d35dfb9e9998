package detect

// maxTrackedPods bounds the memory of the pod state: beyond it the oldest entries are dropped, so a flood of
// malicious pod creates costs a bounded amount and only the correlation of the oldest is lost.
const maxTrackedPods = 10000

// podState remembers the pods whose create event carried a host takeover (Peirates mounts / at /root and then
// execs `cat >> /root/etc/crontab` with the payload on stdin, so that the exec alone looks harmless). An exec into
// such a pod is then correlated with the spec that was seen earlier, which a stateless rule cannot do.
type podState struct {
	pods *boundedMap[string, []string] // namespace/name → what hands the node to the pod
}

func newPodState() *podState { return &podState{pods: newBoundedMap[string, []string](maxTrackedPods)} }

func (p *podState) get(namespace, name string) []string {
	got, _ := p.pods.get(namespace + "/" + name)
	return got
}

// observe records a successful pod create with a host takeover and forgets a deleted pod.
func (p *podState) observe(a *activation) {
	ev := a.ev
	r := ev.ObjectRef
	if r == nil || r.Resource != "pods" || r.Subresource != "" || (ev.ResponseStatus != nil && ev.ResponseStatus.Code >= 400) {
		return
	}
	switch ev.Verb {
	case "delete":
		if r.Name != "" {
			p.pods.delete(r.Namespace + "/" + r.Name)
		}
	case "create":
		// A pod with SYS_ADMIN or another dangerous capability is as much a way onto the node as a host mount.
		reasons := append(append([]string{}, a.hostTakeover()...), a.dangerousCapabilities()...)
		if len(reasons) == 0 {
			return
		}
		md, ok := a.objectMeta()
		if !ok || md.Name == "" {
			return
		}
		p.pods.put(md.Namespace+"/"+md.Name, reasons)
	}
}

// podHostTakeover is what the pod an exec, attach or port-forward targets was created with, or nothing.
func (a *activation) podHostTakeover() []string {
	r := a.ev.ObjectRef
	if r == nil || r.Resource != "pods" || r.Subresource == "" {
		return []string{}
	}
	if got := a.e.pods.get(r.Namespace, r.Name); got != nil {
		return got
	}
	return []string{}
}
