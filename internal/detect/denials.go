package detect

import (
	"strings"
	"sync"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/apipolicy"
)

// Repeated refusals by vnfguard's admission webhook from one identity are an attack in progress: a tool trying its
// way around the policy. The engine counts them per identity over a sliding window of event time (not wall time,
// so that replaying an audit log gives the same answer).
const (
	denialWindow   = 5 * time.Minute
	maxDenialUsers = 10000
)

type denialState struct {
	mu    sync.Mutex
	users map[string][]time.Time
}

func newDenialState() *denialState { return &denialState{users: map[string][]time.Time{}} }

// isVNFGuardDenial reports a request that one of vnfguard's webhooks (named *.vnfguard.io) refused, or one of the
// ValidatingAdmissionPolicies vnfguard keeps in the API server (admission.mode policies or both: named
// apipolicy.Prefix + group; the API server then never calls the webhook, and this is the only record).
func isVNFGuardDenial(ev *auditv1.Event) bool {
	s := ev.ResponseStatus
	if s == nil || s.Code < 400 {
		return false
	}
	msg := s.Message
	if p := strings.Index(msg, "ValidatingAdmissionPolicy '"+apipolicy.Prefix); p >= 0 {
		_, after, ok := strings.Cut(msg[p+len("ValidatingAdmissionPolicy '"):], "'")
		return ok && (strings.HasPrefix(after, " with binding '") || strings.HasPrefix(after, " denied request")) && strings.Contains(after, " denied request")
	}
	i := strings.Index(msg, `admission webhook "`)
	if i < 0 {
		return false
	}
	rest := msg[i+len(`admission webhook "`):]
	name, after, ok := strings.Cut(rest, `"`)
	return ok && strings.HasSuffix(name, "vnfguard.io") && strings.HasPrefix(after, " denied the request")
}

func eventTime(ev *auditv1.Event) time.Time {
	if !ev.StageTimestamp.IsZero() {
		return ev.StageTimestamp.Time
	}
	return ev.RequestReceivedTimestamp.Time
}

// observe records a denial and returns how many the identity had within the window, this one included; 0 when the
// event is not a vnfguard denial.
func (d *denialState) observe(ev *auditv1.Event) int {
	if !isVNFGuardDenial(ev) {
		return 0
	}
	user, now := ev.User.Username, eventTime(ev)
	d.mu.Lock()
	defer d.mu.Unlock()
	times := d.users[user]
	kept := times[:0]
	for _, t := range times {
		if now.Sub(t) < denialWindow {
			kept = append(kept, t)
		}
	}
	kept = append(kept, now)
	if _, known := d.users[user]; !known && len(d.users) >= maxDenialUsers {
		// Make room: drop identities whose last denial has left the window, or, failing that, any one.
		for u, ts := range d.users {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= denialWindow {
				delete(d.users, u)
			}
		}
		for u := range d.users {
			if len(d.users) < maxDenialUsers {
				break
			}
			delete(d.users, u)
		}
	}
	d.users[user] = kept
	return len(kept)
}
