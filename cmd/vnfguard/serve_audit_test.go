package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// findingLog collects what reached stdout and what reached a sink, by audit ID.
type findingLog struct {
	mu     sync.Mutex
	stdout bytes.Buffer
	sink   map[string]int
}

func (l *findingLog) stdoutIDs(t *testing.T) map[string]int {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(l.stdout.String()), "\n") {
		if line == "" {
			continue
		}
		var f finding.Finding
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		ids[f.Evidence["auditID"]]++
	}
	return ids
}

type writerFunc func([]byte) (int, error)

func (w writerFunc) Write(p []byte) (int, error) { return w(p) }

// After SIGTERM during processing, a finding already printed and sent is not printed and sent again on restart,
// and none is lost: each appears exactly once on stdout and in the sink. On main, serve's shutdown closed the
// dedupe set under the consumer, which had printed the first finding: the event was never remembered nor
// acknowledged, and the restart printed it again (the sink, whose request the shutdown cancelled, missed it).
func TestAuditIntakeExactlyOnceAcrossShutdown(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	write(t, tokens, "secret-token\n")
	flags := auditFlags{queueDir: filepath.Join(dir, "queue"), tokenFile: tokens}
	cfg := config.Default()
	inv := vnf.Static{Snap: vnf.NewSnapshot("test", "v1", time.Now(), nil)}
	logger := slog.New(slog.DiscardHandler)
	var events []auditv1.Event
	for i := range 5 {
		events = append(events, auditv1.Event{
			TypeMeta: metav1.TypeMeta{APIVersion: "audit.k8s.io/v1", Kind: "Event"},
			AuditID:  types.UID(fmt.Sprintf("anon-%d", i)), Stage: auditv1.StageResponseComplete, Verb: "list",
			RequestURI: "/api/v1/secrets", User: authnv1.UserInfo{Username: "system:anonymous", Groups: []string{"system:unauthenticated"}},
			SourceIPs: []string{"203.0.113.7"}, ObjectRef: &auditv1.ObjectReference{Resource: "secrets", APIVersion: "v1"},
			ResponseStatus: &metav1.Status{Code: 200},
		})
	}
	log := &findingLog{sink: map[string]int{}}
	// The sink delivers only while its context lives, as the webhook and syslog sinks do.
	publish := func(ctx context.Context, fs []finding.Finding) {
		if ctx.Err() != nil {
			return
		}
		log.mu.Lock()
		defer log.mu.Unlock()
		for _, f := range fs {
			log.sink[f.Evidence["auditID"]]++
		}
	}

	// First run: SIGTERM arrives while the first finding is being written (a slow stdout).
	ctx, sigterm := context.WithCancel(context.Background())
	var once sync.Once
	out := writerFunc(func(p []byte) (int, error) {
		log.mu.Lock()
		n, err := log.stdout.Write(p)
		log.mu.Unlock()
		once.Do(func() {
			sigterm()
			time.Sleep(300 * time.Millisecond)
		})
		return n, err
	})
	in, err := startAuditIntake(flags, cfg, inv, nil, nil, out, publish, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.queue.Append(events); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- in.run(ctx) }() // as serve starts it
	<-ctx.Done()
	in.close() // as serve's deferred close, once the signal ended serve
	select {
	case err := <-stopped:
		if err != nil {
			t.Logf("first run ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the consumer did not stop after shutdown")
	}
	if len(log.stdoutIDs(t)) == 0 {
		t.Fatal("the first run printed nothing: the shutdown did not happen during processing")
	}

	// Restart on the same queue directory: the rest comes out, and nothing again.
	in2, err := startAuditIntake(flags, cfg, inv, nil, nil, &syncWriter{w: writerFunc(func(p []byte) (int, error) {
		log.mu.Lock()
		defer log.mu.Unlock()
		return log.stdout.Write(p)
	})}, publish, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx2, stop2 := context.WithCancel(context.Background())
	go func() { stopped <- in2.run(ctx2) }()
	for deadline := time.Now().Add(30 * time.Second); in2.queue.Stats().UnackedBytes > 0; {
		if time.Now().After(deadline) {
			t.Fatalf("the restarted consumer did not drain the queue: %+v", in2.queue.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop2()
	in2.close()
	<-stopped

	got := log.stdoutIDs(t)
	for _, ev := range events {
		id := string(ev.AuditID)
		if got[id] != 1 || log.sink[id] != 1 {
			t.Errorf("finding of %s: %d times on stdout, %d times in the sink; want exactly once each", id, got[id], log.sink[id])
		}
	}
}
