package policy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// TestLifecycleAccessDuringTerminate: while the VNFM terminates an instance its pods still run and hold its data
// (Tacker deletes them seconds into the operation); exec into them is refused for everyone, break-glass included.
// The same exec is allowed while the instance runs with no operation, or with another operation in progress.
func TestLifecycleAccessDuringTerminate(t *testing.T) {
	for _, tc := range []struct {
		op      *vnf.ActiveOperation
		allowed bool
	}{
		{op: nil, allowed: true},
		{op: &vnf.ActiveOperation{Operation: "SCALE", State: "PROCESSING"}, allowed: true},
		{op: &vnf.ActiveOperation{Operation: "TERMINATE", State: "STARTING"}, allowed: false},
		{op: &vnf.ActiveOperation{Operation: "TERMINATE", State: "PROCESSING"}, allowed: false},
	} {
		env := newTestEnv(t, "")
		snap := testSnapshot()
		var instances []*vnf.Instance
		for _, inst := range snap.Instances() {
			if inst.ID == "upf-1" {
				c := *inst
				c.ActiveOperation = tc.op
				inst = &c
			}
			instances = append(instances, inst)
		}
		env.inv = vnf.Static{Snap: vnf.NewSnapshot("test", "v2", time.Now(), instances)}
		d := env.evaluator(t).Evaluate(context.Background(), connectRequest(breakGlassUser, protectedNS, "upf-pod", "exec"))
		if d.Allowed != tc.allowed {
			t.Errorf("break-glass exec into the UPF with operation %+v: allowed %v, want %v (%v)", tc.op, d.Allowed, tc.allowed, d.Denials)
			continue
		}
		if !tc.allowed && (len(d.Denials) != 1 || d.Denials[0].Check != "lifecycle-access" || !strings.Contains(d.Denials[0].Message, "TERMINATE is under way")) {
			t.Errorf("denial during %+v: %v; want lifecycle-access naming the TERMINATE", tc.op, d.Denials)
		}
	}
}
