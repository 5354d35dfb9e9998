package sol003

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/inventory/sol003/vnfmtest"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// BenchmarkCompletedToSnapshot measures an OPERATE (stop, then start) end to end: the VNFM sends STARTING,
// PROCESSING and COMPLETED, and the iteration ends when the snapshot shows the new state with no operation active.
// The "ms/completed" metric is the time from the COMPLETED notification's delivery to the snapshot reflecting it.
func BenchmarkCompletedToSnapshot(b *testing.B) {
	var lag time.Duration
	e := newEnv(b, vnfmtest.Options{}, nil)
	_, err := e.vnfm.LoadFixture(fixture)
	must(b, err)
	e.run(b)
	const id = "7f3c2a10-5d1e-4c1b-9a77-0c6d1e2f3a4b"
	states := []string{"STOPPED", "STARTED"}
	shown := map[string]string{"STOPPED": "STOPPED", "STARTED": "INSTANTIATED"}
	for i := 0; b.Loop(); i++ {
		want := states[i%2]
		must(b, e.vnfm.Operate(id, want))
		completed := time.Now() // Operate returns once COMPLETED was answered with 204
		for {
			inst, _ := e.instance(id)
			if inst.State() == shown[want] && inst.ActiveOperation == nil {
				break
			}
			time.Sleep(50 * time.Microsecond)
		}
		lag += time.Since(completed)
	}
	b.ReportMetric(float64(lag.Microseconds())/1000/float64(b.N), "ms/completed")
}

// BenchmarkApply measures taking a COMPLETED notification in: the GET of the instance and the snapshot swap.
func BenchmarkApply(b *testing.B) {
	e := newEnv(b, vnfmtest.Options{}, func(c *Config) { c.CallbackURI = "" })
	_, err := e.vnfm.LoadFixture(fixture)
	must(b, err)
	ctx := context.Background()
	must(b, e.src.Resync(ctx))
	n := &Notification{NotificationType: NotificationLcmOperationOccurrence, VnfInstanceID: "0a6f0c4e-3b8d-4a35-8d8e-2d8c3a9b7e10",
		Operation: "SCALE", OperationState: "COMPLETED", TimeStamp: time.Now()}
	for b.Loop() {
		must(b, e.src.Apply(ctx, n))
	}
}

// BenchmarkUpdateLargeInventory measures the snapshot swap a batch of notifications costs in an inventory of 10 000
// instances with 10 pods each (no HTTP): copying the instance list, re-hashing the changed instance and indexing.
func BenchmarkUpdateLargeInventory(b *testing.B) {
	src, err := NewSource(Config{APIRoot: "http://127.0.0.1:1", Insecure: true}, nil)
	must(b, err)
	const n = 10000
	list := make([]*vnf.Instance, n)
	for i := range list {
		list[i] = largeInstance(i)
	}
	now := time.Now()
	src.mu.Lock()
	src.swap(src.merge(list, 0, now), "bench")
	src.mu.Unlock()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		inst := largeInstance(i % n)
		inst.InstantiatedVnfInfo.VnfState = [2]vnf.OperationalState{vnf.Stopped, vnf.Started}[i%2]
		src.commit([]change{{id: inst.ID, inst: inst, at: now}})
	}
}

func largeInstance(i int) *vnf.Instance {
	inst := &vnf.Instance{ID: fmt.Sprintf("inst-%05d", i), VnfdID: "vnfd", VnfProductName: "UPF", InstantiationState: vnf.Instantiated,
		InstantiatedVnfInfo: &vnf.InstantiatedVnfInfo{VnfState: vnf.Started, Metadata: map[string]any{"namespace": fmt.Sprintf("ns-%d", i%100)}}}
	for p := range 10 {
		name := fmt.Sprintf("cnf-%05d-%d", i, p)
		inst.InstantiatedVnfInfo.VnfcResourceInfo = append(inst.InstantiatedVnfInfo.VnfcResourceInfo,
			vnf.VnfcResourceInfo{ID: name, ComputeResource: vnf.ResourceHandle{ResourceID: name, VimLevelResourceType: "Deployment"}})
	}
	return inst
}

// BenchmarkDecodeInstances measures decoding a page shaped like Tacker's (four CNF instances, two with
// vimConnectionInfo), the credential scan of vimConnectionInfo included.
func BenchmarkDecodeInstances(b *testing.B) {
	data, err := os.ReadFile("testdata/instances/tacker-cnf-list.json")
	must(b, err)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeInstances(data, "GET bench", 1); err != nil {
			b.Fatal(err)
		}
	}
}
