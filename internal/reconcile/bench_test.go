package reconcile

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// The scale of issue 4 part 6: 10 000 instances, 100 000 pods (with their ReplicaSets and Deployments) and 50 000
// PVCs and Secrets, in 100 protected namespaces.
const (
	benchInstances     = 10_000
	benchPodsPer       = 10 // 100 000 pods
	benchPVCsPer       = 2  // 20 000 PVCs
	benchSecretsPer    = 3  // 30 000 Secrets
	benchNamespaces    = 100
	benchRoguePerSpace = 5 // unlabelled Deployments with 2 pods each: 500 rogue findings
)

// benchWorld builds the inventory and the cluster: 80 % of the instances INSTANTIATED and STARTED (a labelled
// Deployment, its ReplicaSet, its pods named as VNFC resources, PVCs named as storage, labelled Secrets), 10 %
// STOPPED (pods still running: zombies) and 10 % NOT_INSTANTIATED (pods, PVCs and Secrets left: zombies and
// residual data).
func benchWorld() (*vnf.Snapshot, []string, []Object) {
	namespaces := make([]string, benchNamespaces)
	for i := range namespaces {
		namespaces[i] = fmt.Sprintf("vnf-%03d", i)
	}
	instances := make([]*vnf.Instance, 0, benchInstances)
	objs := make([]Object, 0, benchInstances*(2+benchPodsPer+benchPVCsPer+benchSecretsPer)+benchNamespaces*benchRoguePerSpace*4)
	for i := 0; i < benchInstances; i++ {
		ns := namespaces[i%benchNamespaces]
		id := fmt.Sprintf("inst-%05d", i)
		name := fmt.Sprintf("nf-%05d", i)
		state := "INSTANTIATED"
		switch i % 10 {
		case 8:
			state = "STOPPED"
		case 9:
			state = "NOT_INSTANTIATED"
		}
		var podNames, pvcNames []string
		for p := 0; p < benchPodsPer; p++ {
			podNames = append(podNames, fmt.Sprintf("%s-7d9c5b6f4-%05d", name, p))
		}
		for p := 0; p < benchPVCsPer; p++ {
			pvcNames = append(pvcNames, fmt.Sprintf("data-%s-%d", name, p))
		}
		if state == "NOT_INSTANTIATED" {
			// Tacker keeps no resources for a terminated instance: its leftovers are found by label.
			instances = append(instances, instance(id, "NF", ns, state, terminatedAt(t0.Add(-1e9))))
		} else {
			instances = append(instances, instance(id, "NF", ns, state, pods(podNames...), pvcs(pvcNames...)))
		}
		objs = append(objs, deployment(ns, name, benchPodsPer, label(id))...)
		for _, pvc := range pvcNames {
			objs = append(objs, object(KindPersistentVolumeClaim, ns, pvc, label(id)))
		}
		for s := 0; s < benchSecretsPer; s++ {
			objs = append(objs, object(KindSecret, ns, fmt.Sprintf("%s-secret-%d", name, s), label(id)))
		}
	}
	for _, ns := range namespaces {
		for r := 0; r < benchRoguePerSpace; r++ {
			objs = append(objs, deployment(ns, fmt.Sprintf("rogue-%d", r), 2)...)
		}
	}
	return vnf.NewSnapshot("bench", "v1", t0, instances), namespaces, objs
}

// BenchmarkEvaluate measures one reconciliation pass at scale: building the State from the object records and
// evaluating it. Run it on one core:
//
//	go test -run '^$' -bench BenchmarkEvaluate -benchmem -cpu 1 ./internal/reconcile/
//
// Besides ns/op and B/op, the memory sub-benchmark reports peak-MB, the heap in use after building the records, the
// State and one Evaluate with the collector off (an upper bound of the peak: nothing allocated is freed), pass-MB,
// the part of it NewState and Evaluate allocate, and live-MB, what stays in use once garbage is collected while the
// records, the State and the findings are still referenced.
func BenchmarkEvaluate(b *testing.B) {
	snap, namespaces, objs := benchWorld()
	want := benchInstances/10*benchPodsPer*2 + benchInstances/10*(benchPVCsPer+benchSecretsPer) + benchNamespaces*benchRoguePerSpace
	opts := DefaultOptions()

	b.Run("state+evaluate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if got := len(Evaluate(snap, nil, NewState(namespaces, objs), opts, t0)); got != want {
				b.Fatalf("%d findings, want %d", got, want)
			}
		}
		b.ReportMetric(float64(len(objs)), "objects")
	})
	b.Run("evaluate", func(b *testing.B) {
		state := NewState(namespaces, objs)
		b.ReportAllocs()
		for b.Loop() {
			if got := len(Evaluate(snap, nil, state, opts, t0)); got != want {
				b.Fatalf("%d findings, want %d", got, want)
			}
		}
	})
	b.Run("memory", func(b *testing.B) {
		for b.Loop() {
			peak, pass, live := measureMemory(b, want)
			b.ReportMetric(peak, "peak-MB")
			b.ReportMetric(pass, "pass-MB")
			b.ReportMetric(live, "live-MB")
		}
	})
}

// measureMemory builds the world, the State and the findings from scratch with the collector off and reads the
// heap (peak: everything allocated, the test's own construction garbage included; pass: what NewState and
// Evaluate allocate on top of the records); then collects and reads it again with everything still referenced
// (live). The inventory snapshot is included.
func measureMemory(b *testing.B, want int) (peakMB, passMB, liveMB float64) {
	runtime.GC()
	var base, world, after, live runtime.MemStats
	runtime.ReadMemStats(&base)
	old := debug.SetGCPercent(-1)
	snap, namespaces, objs := benchWorld()
	runtime.ReadMemStats(&world)
	state := NewState(namespaces, objs)
	fs := Evaluate(snap, nil, state, DefaultOptions(), t0)
	runtime.ReadMemStats(&after)
	debug.SetGCPercent(old)
	runtime.GC()
	runtime.ReadMemStats(&live)
	if len(fs) != want || state.Len() != len(objs) {
		b.Fatalf("%d findings over %d objects, want %d over %d", len(fs), state.Len(), want, len(objs))
	}
	runtime.KeepAlive(snap)
	const mb = 1 << 20
	return float64(after.HeapInuse-base.HeapInuse) / mb, float64(after.HeapInuse-world.HeapInuse) / mb, float64(live.HeapInuse-base.HeapInuse) / mb
}
