package intake

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/cluster"
	"github.com/vnfguard/vnfguard/internal/detect"
	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// BenchmarkConsume is the audit consumer's throughput against a real kube-apiserver (etcd and kube-apiserver from
// $VNFGUARD_CONTROLPLANE_DIR), from the disk queue through detection to publication, for events about objects that
// do not exist (miss: execs into made-up pods) and about objects that do (hit: execs into the pod of a STOPPED
// VNF, resolved through its ReplicaSet and Deployment), with detection reading the cluster through the view with a
// live GET per cache miss (live, the old path) and through the stream view (stream). Reported as events/s; run it
// with a fixed count, e.g. -benchtime 3000x (the live misses take seconds).
func BenchmarkConsume(b *testing.B) {
	dir := lab.DefaultBinDir()
	if err := lab.CheckBinaries(dir, true); err != nil {
		b.Skip(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	cp, err := lab.Start(ctx, lab.Options{BinDir: dir, WorkDir: b.TempDir(), Logger: logger, APIServerOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer cp.Stop()
	admin, cfg := cp.ClientFor(lab.Admin)
	createStoppedVNF(ctx, b, cp, admin)
	liveView, err := cluster.New(ctx, cfg, logger)
	if err != nil {
		b.Fatal(err)
	}
	streamView, err := cluster.New(ctx, cfg, logger)
	if err != nil {
		b.Fatal(err)
	}
	stream := streamView.Stream()
	var seq atomic.Int64 // every event, and every made-up object, unique: no answer is reused from a cache
	events := map[string]func(n int) []auditv1.Event{
		"miss": func(n int) []auditv1.Event {
			base := seq.Add(int64(n))
			evs := floodOfMissingObjects(n)
			for i := range evs {
				id := base - int64(n) + int64(i)
				evs[i].AuditID = types.UID(fmt.Sprintf("miss-%d", id))
				evs[i].ObjectRef.Namespace, evs[i].ObjectRef.Name = fmt.Sprintf("tenant-%d", id), fmt.Sprintf("ghost-%d", id)
			}
			return evs
		},
		"hit": func(n int) []auditv1.Event {
			base := seq.Add(int64(n))
			evs := make([]auditv1.Event, n)
			for i := range evs {
				evs[i] = execInto(floodNS, floodPod, fmt.Sprintf("hit-%d", base-int64(n)+int64(i)))
			}
			return evs
		},
	}
	type path struct {
		objects    vnf.Objects
		namespaces detect.Namespaces
		wait       func(context.Context) error
	}
	paths := map[string]path{"live": {liveView, liveView, liveView.WaitForSync}, "stream": {stream, stream, stream.WaitForSync}}
	for _, kind := range []string{"miss", "hit"} {
		for _, name := range []string{"live", "stream"} {
			p := paths[name]
			b.Run(kind+"/"+name, func(b *testing.B) {
				fi := newFloodIntake(b, p.objects, p.namespaces, p.wait, "none")
				defer fi.Close()
				fi.append(b, events[kind](b.N))
				rctx, rcancel := context.WithCancel(ctx)
				done := make(chan error, 1)
				b.ResetTimer()
				start := time.Now()
				go func() { done <- fi.Run(rctx) }()
				for fi.Processed() < uint64(b.N) {
					time.Sleep(time.Millisecond)
				}
				elapsed := time.Since(start)
				b.StopTimer()
				rcancel()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			})
		}
	}
}
