package detect

import "sync"

// maxTrackedPods bounds the memory of the pod state: beyond it the oldest entries are dropped, so a flood of
// malicious pod creates costs a bounded amount and only the correlation of the oldest is lost.
const maxTrackedPods = 10000

// podState remembers the pods whose create event carried a host takeover (Peirates mounts / at /root and then
// execs `cat >> /root/etc/crontab` with the payload on stdin, so that the exec alone looks harmless). An exec into
// such a pod is then correlated with the spec that was seen earlier, which a stateless rule cannot do.
type podState struct {
	mu    sync.Mutex
	pods  map[string][]string // namespace/name → what hands the node to the pod
	order []string            // insertion order, for eviction
}

func newPodState() *podState { return &podState{pods: map[string][]string{}} }

func (p *podState) get(namespace, name string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pods[namespace+"/"+name]
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
			p.mu.Lock()
			delete(p.pods, r.Namespace+"/"+r.Name)
			p.mu.Unlock()
		}
	case "create":
		reasons := a.hostTakeover()
		if len(reasons) == 0 {
			return
		}
		md, ok := a.objectMeta()
		if !ok || md.Name == "" {
			return
		}
		ns := md.Namespace
		if ns == "" {
			ns = r.Namespace
		}
		key := ns + "/" + md.Name
		p.mu.Lock()
		defer p.mu.Unlock()
		if _, seen := p.pods[key]; !seen {
			p.order = append(p.order, key)
		}
		p.pods[key] = reasons
		for len(p.pods) > maxTrackedPods && len(p.order) > 0 {
			delete(p.pods, p.order[0])
			p.order = p.order[1:]
		}
		if len(p.order) > 2*maxTrackedPods {
			// Keys of deleted pods pile up in order; compact it now and then.
			kept := p.order[:0]
			for _, k := range p.order {
				if _, ok := p.pods[k]; ok {
					kept = append(kept, k)
				}
			}
			p.order = kept
		}
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
