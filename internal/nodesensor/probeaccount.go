package nodesensor

import (
	"sync"
	"time"
)

// probeAccount matches the kubelet's probe counts with the execs whose command could not be read.
//
// Each probe run the kubelet counts accounts for one exec, never two. Two things the counts alone do not show
// are handled here:
//   - The kubelet deletes a container's probe series when it stops probing it (its pod deleted or terminated),
//     and a probe whose exec was in flight then is never counted (or counted and deleted before the next read).
//     A series seen at one read and gone at the next therefore accounts for one exec, once: the container's last
//     probe. An attacker gains at most one unreadable exec per probe type, in a container that declares that exec
//     probe, in the moment its pod goes away.
//   - A pod recreated under the same name (a StatefulSet's VNFC healed) starts its series again from zero: a
//     count below what was accounted is a new series, accounted from zero.
type probeAccount struct {
	mu        sync.Mutex
	accounted map[string]uint64    // probeKey → runs accounted for by execs
	seen      map[string]bool      // series present at the last read
	vanished  map[string]time.Time // series gone since the last read, not yet taken as a last probe
}

// vanishedKept bounds how long a vanished series can stand for an exec that is reported late.
const vanishedKept = time.Minute

// start takes the runs before the sensor started as accounted: only runs from now on stand for execs seen from now.
func (a *probeAccount) start(runs map[string]uint64, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.accounted = map[string]uint64{}
	for k, v := range runs {
		a.accounted[k] = v
	}
	a.observeLocked(runs, now)
}

// observe notes which series exist at a read, so that one gone by the next read is known to have vanished.
func (a *probeAccount) observe(runs map[string]uint64, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.observeLocked(runs, now)
}

// observeLocked: runs nil is a read that failed, which tells nothing.
func (a *probeAccount) observeLocked(runs map[string]uint64, now time.Time) {
	if a.seen == nil {
		a.seen, a.vanished = map[string]bool{}, map[string]time.Time{}
	}
	if a.accounted == nil {
		a.accounted = map[string]uint64{}
	}
	if runs == nil {
		return
	}
	for k := range a.seen {
		if _, ok := runs[k]; !ok {
			delete(a.seen, k)
			delete(a.accounted, k)
			a.vanished[k] = now
		}
	}
	for k, v := range runs {
		a.seen[k] = true
		delete(a.vanished, k)
		if v < a.accounted[k] {
			a.accounted[k] = 0 // a new series under the same name
		}
	}
	for k, at := range a.vanished {
		if now.Sub(at) > vanishedKept {
			delete(a.vanished, k)
		}
	}
}

// take accounts one exec of a container for a probe run of one of its probe types (keys by type): a run counted
// and not yet accounted, else the last probe of a series that vanished. It returns the type, whether it was a
// vanished series' last probe, and false when nothing accounts for the exec.
func (a *probeAccount) take(runs map[string]uint64, keys map[string]string, now time.Time) (typ string, last, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.observeLocked(runs, now)
	for _, t := range probeTypes {
		if k := keys[t]; runs[k] > a.accounted[k] {
			a.accounted[k]++
			return t, false, true
		}
	}
	for _, t := range probeTypes {
		if k := keys[t]; !a.vanished[k].IsZero() {
			delete(a.vanished, k)
			return t, true, true
		}
	}
	return "", false, false
}

var probeTypes = []string{"Readiness", "Liveness", "Startup"}
