package sol003

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/inventory/sol003/vnfmtest"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

func TestLifecycleReflected(t *testing.T) {
	e := newEnv(t, vnfmtest.Options{ClientID: clientID, ClientSecret: secret, PageSize: 2}, nil)
	if _, err := e.vnfm.LoadFixture(fixture); err != nil {
		t.Fatal(err)
	}
	e.run(t)
	if n := e.src.Snapshot().Len(); n != 4 {
		t.Fatalf("%d instances after the first list, want 4", n)
	}
	id, err := e.vnfm.Create("upf-2", upf)
	must(t, err)
	waitFor(t, "the created instance", func() bool { _, ok := e.instance(id); return ok })
	must(t, e.vnfm.Instantiate(id, vnfmtest.Workload{Namespace: "vnf-upf2", Name: "upf", Replicas: 2}))
	waitFor(t, "INSTANTIATE COMPLETED", func() bool {
		inst, ok := e.instance(id)
		return ok && inst.Running() && inst.ActiveOperation == nil && len(vnf.ResourceNames(inst)) == 2
	})
	inst, _ := e.instance(id)
	if inst.Namespace != "vnf-upf2" {
		t.Errorf("namespace %q, want vnf-upf2", inst.Namespace)
	}
	must(t, e.vnfm.Operate(id, "STOPPED"))
	waitFor(t, "OPERATE STOPPED", func() bool { inst, _ := e.instance(id); return inst.State() == "STOPPED" })
	must(t, e.vnfm.Terminate(id))
	waitFor(t, "TERMINATE", func() bool {
		inst, _ := e.instance(id)
		return inst.State() == "NOT_INSTANTIATED" && inst.ActiveOperation == nil && inst.TerminatedAt != nil
	})
	inst, _ = e.instance(id)
	if inst.TerminatedAt == nil || !inst.TerminationRequested {
		t.Errorf("terminated instance: TerminatedAt %v, TerminationRequested %v", inst.TerminatedAt, inst.TerminationRequested)
	}
	must(t, e.vnfm.Delete(id))
	waitFor(t, "deletion", func() bool { _, ok := e.instance(id); return !ok })
}

func TestScaleAndHealReflected(t *testing.T) {
	e := newEnv(t, vnfmtest.Options{}, nil)
	e.run(t)
	id, err := e.vnfm.Create("upf-3", upf)
	must(t, err)
	must(t, e.vnfm.Instantiate(id, vnfmtest.Workload{Namespace: "vnf-upf3", Name: "upf", Replicas: 1}))
	waitFor(t, "INSTANTIATE", func() bool { inst, ok := e.instance(id); return ok && inst.Running() })
	must(t, e.vnfm.Scale(id, 2))
	waitFor(t, "SCALE out to 3 pods", func() bool { inst, _ := e.instance(id); return len(vnf.ResourceNames(inst)) == 3 })
	before, _ := e.instance(id)
	pods := strings.Join(vnf.ResourceNames(before), ",")
	must(t, e.vnfm.Heal(id))
	waitFor(t, "HEAL with new pod names", func() bool {
		inst, _ := e.instance(id)
		return len(vnf.ResourceNames(inst)) == 3 && strings.Join(vnf.ResourceNames(inst), ",") != pods
	})
	healed, _ := e.instance(id)
	for _, name := range vnf.ResourceNames(healed) {
		if got, ok := e.src.Snapshot().ByResource("vnf-upf3", name); !ok || got.ID != id {
			t.Errorf("healed pod %s does not resolve to the instance", name)
		}
	}
	if _, ok := e.src.Snapshot().ByResource("vnf-upf3", vnf.ResourceNames(before)[0]); ok {
		t.Errorf("the pod replaced by HEAL still resolves")
	}
	mid := time.Now()
	must(t, e.vnfm.Scale(id, -2))
	waitFor(t, "SCALE in to 1 pod", func() bool { inst, _ := e.instance(id); return len(vnf.ResourceNames(inst)) == 1 })
	// The history still knows what was in force before the scale-in, for events judged late.
	old, ok := e.src.SnapshotAt(mid).Instance(id)
	if !ok || len(vnf.ResourceNames(old)) != 3 {
		t.Fatalf("snapshot at %s: %v; want the 3 healed pods", mid, old)
	}
}

// TestActiveOperation: while the VNFM runs an operation the instance carries it; it is cleared on COMPLETED.
func TestActiveOperation(t *testing.T) {
	var e *env
	seen := map[string]*vnf.ActiveOperation{}
	opts := vnfmtest.Options{OnProcessing: func(id, op string) {
		waitFor(t, op+" PROCESSING in the snapshot", func() bool {
			inst, ok := e.instance(id)
			return ok && inst.ActiveOperation != nil && inst.ActiveOperation.Operation == op && inst.ActiveOperation.State == "PROCESSING"
		})
		inst, _ := e.instance(id)
		seen[op] = inst.ActiveOperation
	}}
	e = newEnv(t, opts, nil)
	e.run(t)
	id, err := e.vnfm.Create("upf-4", upf)
	must(t, err)
	must(t, e.vnfm.Instantiate(id, vnfmtest.Workload{Namespace: "vnf-upf4", Name: "upf"}))
	waitFor(t, "INSTANTIATE COMPLETED", func() bool { inst, _ := e.instance(id); return inst.Running() && inst.ActiveOperation == nil })
	must(t, e.vnfm.Terminate(id))
	waitFor(t, "TERMINATE COMPLETED", func() bool { inst, _ := e.instance(id); return !inst.Running() && inst.ActiveOperation == nil })
	if seen["INSTANTIATE"] == nil || seen["TERMINATE"] == nil {
		t.Fatalf("operations seen in progress: %v", seen)
	}
	inst, _ := e.instance(id)
	if !inst.TerminationRequested || inst.TerminatedAt == nil {
		t.Fatalf("after TERMINATE: TerminationRequested %v TerminatedAt %v", inst.TerminationRequested, inst.TerminatedAt)
	}
}

// TestResyncRepairsDroppedNotification: a state change whose notification was lost is taken in by the next list.
func TestResyncRepairsDroppedNotification(t *testing.T) {
	e := newEnv(t, vnfmtest.Options{}, func(c *Config) { c.ResyncInterval = 50 * time.Millisecond })
	_, err := e.vnfm.LoadFixture(fixture)
	must(t, err)
	e.run(t)
	const upfID = "7f3c2a10-5d1e-4c1b-9a77-0c6d1e2f3a4b"
	e.vnfm.DropNotifications(true)
	must(t, e.vnfm.Terminate(upfID))
	waitFor(t, "the resync to see the TERMINATE", func() bool { inst, _ := e.instance(upfID); return inst.State() == "NOT_INSTANTIATED" })
	inst, _ := e.instance(upfID)
	if inst.TerminatedAt == nil {
		t.Fatal("an instance seen going NOT_INSTANTIATED by a resync has no TerminatedAt")
	}
	if st := e.src.Status(); st.LastFullSync.IsZero() || st.LastError != nil {
		t.Fatalf("status %+v", st)
	}
}

// TestLastGoodSnapshotStays: every failure leaves the snapshot in force and says why in LastError.
func TestLastGoodSnapshotStays(t *testing.T) {
	e := newEnv(t, vnfmtest.Options{ClientID: clientID, ClientSecret: secret}, func(c *Config) { c.CallbackURI = ""; c.Timeout = 200 * time.Millisecond })
	_, err := e.vnfm.LoadFixture(fixture)
	must(t, err)
	ctx := context.Background()
	must(t, e.src.Resync(ctx))
	good := e.src.Snapshot()
	for _, f := range []vnfmtest.Fault{
		{Path: "/vnf_instances", Times: 1, Status: 500},
		{Path: "/vnf_instances", Times: 2, Status: 401},
		{Path: "/vnf_instances", Times: 1, Delay: time.Second},
		{Path: "/vnf_instances", Times: 1, Body: `{"not": "a list"}`},
	} {
		e.vnfm.Inject(f)
		if err := e.src.Resync(ctx); err == nil {
			t.Fatalf("fault %+v: no error", f)
		}
		if e.src.Snapshot() != good || e.src.LastError() == nil {
			t.Fatalf("fault %+v replaced the snapshot in force or left no LastError", f)
		}
	}
	must(t, e.src.Resync(ctx))
	if e.src.LastError() != nil || !e.src.Snapshot().Loaded {
		t.Fatalf("after recovery: LastError %v", e.src.LastError())
	}
}

// TestRunRetriesWithBackoff: Run keeps trying until the VNFM answers, and the inventory is unloaded meanwhile.
func TestRunRetriesWithBackoff(t *testing.T) {
	e := newEnv(t, vnfmtest.Options{}, nil)
	_, err := e.vnfm.LoadFixture(fixture)
	must(t, err)
	e.vnfm.Inject(vnfmtest.Fault{Path: "/vnf_instances", Times: 3, Status: 503})
	snap := e.src.Snapshot()
	if snap.Loaded || snap.Source != "sol003:"+e.vnfm.URL || snap.Len() != 0 {
		t.Fatalf("before Run: %+v; want an unloaded, empty snapshot naming the VNFM", snap)
	}
	e.run(t)
	if n := len(e.vnfm.Requests()); n < 4 {
		t.Fatalf("%d requests; want 3 failures and a success at least", n)
	}
}

// TestNeverLoaded: a VNFM that never answers leaves the inventory unloaded, so protected namespaces fail closed.
func TestNeverLoaded(t *testing.T) {
	e := newEnv(t, vnfmtest.Options{}, func(c *Config) { c.APIRoot = "http://" + closedPort(t) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.src.Run(ctx) }()
	waitFor(t, "a failed attempt", func() bool { return e.src.LastError() != nil })
	cancel()
	must(t, <-done)
	st := e.src.Status()
	if st.Loaded || e.src.Snapshot().Loaded || !strings.Contains(st.LastError.Error(), "connection refused") {
		t.Fatalf("status %+v; want unloaded with the connection error", st)
	}
}

// TestResubscribes: a VNFM that lost the subscription gets it back at the next resync.
func TestResubscribes(t *testing.T) {
	e := newEnv(t, vnfmtest.Options{}, func(c *Config) { c.ResyncInterval = 20 * time.Millisecond })
	_, err := e.vnfm.LoadFixture(fixture)
	must(t, err)
	e.run(t)
	first := e.src.Status().SubscriptionID
	e.vnfm.ForgetSubscriptions()
	waitFor(t, "a new subscription", func() bool {
		subs := e.vnfm.Subscriptions()
		_, old := subs[first]
		return len(subs) == 1 && !old && e.src.Status().Subscribed
	})
	const smf = "5c1d9e22-8f7a-4e61-b0c3-6a4f2e9d1b73"
	must(t, e.vnfm.Operate(smf, "STARTED"))
	waitFor(t, "the start notified on the new subscription", func() bool { inst, _ := e.instance(smf); return inst.Running() })
}

// TestOnlyTheLeaderSubscribes: a replica that may not subscribe (a follower) lists but never subscribes; once it
// may (it leads), TakeOverSubscription subscribes at once, without waiting for the next resync.
func TestOnlyTheLeaderSubscribes(t *testing.T) {
	var leading atomic.Bool
	e := newEnv(t, vnfmtest.Options{}, func(c *Config) {
		c.ResyncInterval = time.Hour // the take-over must not wait for it
		c.MaySubscribe = leading.Load
	})
	_, err := e.vnfm.LoadFixture(fixture)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.src.Run(ctx) }()
	defer func() {
		cancel()
		must(t, <-done)
	}()
	waitFor(t, "the first list", func() bool { return e.src.Status().Loaded })
	e.src.TakeOverSubscription() // a resync while still a follower
	time.Sleep(100 * time.Millisecond)
	if subs := e.vnfm.Subscriptions(); len(subs) != 0 || e.src.Status().Subscribed {
		t.Fatalf("a follower subscribed: %v", subs)
	}
	leading.Store(true)
	e.src.TakeOverSubscription()
	waitFor(t, "the leader's subscription", func() bool { return len(e.vnfm.Subscriptions()) == 1 && e.src.Status().Subscribed })
}

// TestTerminatedAtFromNotification: TerminatedAt is the COMPLETED notification's timeStamp.
func TestTerminatedAtFromNotification(t *testing.T) {
	e := newEnv(t, vnfmtest.Options{}, func(c *Config) { c.CallbackURI = "" })
	_, err := e.vnfm.LoadFixture(fixture)
	must(t, err)
	ctx := context.Background()
	must(t, e.src.Resync(ctx))
	const upfID = "7f3c2a10-5d1e-4c1b-9a77-0c6d1e2f3a4b"
	e.vnfm.DropNotifications(true)
	must(t, e.vnfm.Terminate(upfID))
	at := time.Date(2026, 11, 24, 8, 0, 0, 123000000, time.UTC)
	var told []*vnf.Snapshot
	e.src.OnChange = func(s *vnf.Snapshot) { told = append(told, s) }
	for _, state := range []string{"STARTING", "COMPLETED"} {
		must(t, e.src.Apply(ctx, &Notification{NotificationType: NotificationLcmOperationOccurrence, VnfInstanceID: upfID,
			Operation: "TERMINATE", OperationState: state, TimeStamp: at}))
	}
	inst, _ := e.instance(upfID)
	if inst.TerminatedAt == nil || !inst.TerminatedAt.Equal(at) || !inst.TerminationRequested || inst.ActiveOperation != nil {
		t.Fatalf("TerminatedAt %v TerminationRequested %v ActiveOperation %v; want %s, true, nil", inst.TerminatedAt, inst.TerminationRequested, inst.ActiveOperation, at)
	}
	if len(told) != 2 || told[1] != e.src.Snapshot() {
		t.Fatalf("OnChange told %d snapshots, want 2 ending with the one in force", len(told))
	}
	// A full list keeps what the notification taught.
	must(t, e.src.Resync(ctx))
	inst, _ = e.instance(upfID)
	if inst.TerminatedAt == nil || !inst.TerminatedAt.Equal(at) {
		t.Fatalf("after a resync: TerminatedAt %v, want %s", inst.TerminatedAt, at)
	}
	// Deletion removes it.
	must(t, e.vnfm.Delete(upfID))
	must(t, e.src.Apply(ctx, &Notification{NotificationType: NotificationIdentifierDeletion, VnfInstanceID: upfID, TimeStamp: at}))
	if _, ok := e.instance(upfID); ok {
		t.Fatal("deleted instance still in the snapshot")
	}
}

// TestStaleOperationExpires: an operation whose end is never notified stops counting as active.
func TestStaleOperationExpires(t *testing.T) {
	now := time.Now()
	e := newEnv(t, vnfmtest.Options{}, func(c *Config) {
		c.CallbackURI = ""
		c.Now = func() time.Time { return now }
		c.OperationTimeout = time.Minute
	})
	_, err := e.vnfm.LoadFixture(fixture)
	must(t, err)
	ctx := context.Background()
	must(t, e.src.Resync(ctx))
	const udr = "0a6f0c4e-3b8d-4a35-8d8e-2d8c3a9b7e10"
	must(t, e.src.Apply(ctx, &Notification{NotificationType: NotificationLcmOperationOccurrence, VnfInstanceID: udr, Operation: "SCALE", OperationState: "PROCESSING", TimeStamp: now}))
	must(t, e.src.Resync(ctx))
	if inst, _ := e.instance(udr); inst.ActiveOperation == nil {
		t.Fatal("a resync within the operation timeout dropped the active operation")
	}
	now = now.Add(2 * time.Minute)
	must(t, e.src.Resync(ctx))
	if inst, _ := e.instance(udr); inst.ActiveOperation != nil {
		t.Fatalf("operation still active after the timeout: %+v", inst.ActiveOperation)
	}
}

// TestBatchOneSwap: a burst of notifications is taken in with one snapshot swap, in order.
func TestBatchOneSwap(t *testing.T) {
	e := newEnv(t, vnfmtest.Options{}, func(c *Config) { c.CallbackURI = "" })
	_, err := e.vnfm.LoadFixture(fixture)
	must(t, err)
	ctx := context.Background()
	must(t, e.src.Resync(ctx))
	const upfID, amfID = "7f3c2a10-5d1e-4c1b-9a77-0c6d1e2f3a4b", "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4"
	e.vnfm.DropNotifications(true)
	must(t, e.vnfm.Terminate(upfID))
	must(t, e.vnfm.Delete(amfID))
	swaps := 0
	e.src.OnChange = func(*vnf.Snapshot) { swaps++ }
	at := time.Now().UTC()
	var batch []*Notification
	for _, state := range []string{"STARTING", "PROCESSING", "COMPLETED"} {
		batch = append(batch, &Notification{NotificationType: NotificationLcmOperationOccurrence, VnfInstanceID: upfID, Operation: "TERMINATE", OperationState: state, TimeStamp: at})
	}
	batch = append(batch,
		&Notification{NotificationType: NotificationIdentifierDeletion, VnfInstanceID: amfID, TimeStamp: at},
		&Notification{NotificationType: NotificationIdentifierCreation, VnfInstanceID: "no-such-instance", TimeStamp: at})
	err = e.src.apply(ctx, batch)
	if err == nil || !strings.Contains(err.Error(), "VnfIdentifierCreationNotification of VNF instance no-such-instance") || !strings.Contains(err.Error(), "HTTP 404") {
		t.Fatalf("error %v; want the unknown instance's 404 named", err)
	}
	if swaps != 1 {
		t.Fatalf("%d swaps for one batch, want 1", swaps)
	}
	snap := e.src.Snapshot()
	upfInst, _ := snap.Instance(upfID)
	if _, ok := snap.Instance(amfID); ok || snap.Len() != 3 || upfInst.State() != "NOT_INSTANTIATED" || upfInst.ActiveOperation != nil || !upfInst.TerminatedAt.Equal(at) {
		t.Fatalf("after the batch: %d instances, upf %s op %v terminatedAt %v", snap.Len(), upfInst.State(), upfInst.ActiveOperation, upfInst.TerminatedAt)
	}
}

// TestDeclaredImages: the package catalogue's images are attached to every instance of the vnfdId, as it is taken in.
func TestDeclaredImages(t *testing.T) {
	declared := []vnf.DeclaredImage{{Name: "upf", Image: "registry.example/5gc/upf@sha256:" + strings.Repeat("ab", 32), Digest: "sha256:" + strings.Repeat("ab", 32)}}
	e := newEnv(t, vnfmtest.Options{}, func(c *Config) {
		c.DeclaredImages = func(vnfdID string) []vnf.DeclaredImage {
			if vnfdID == upf.VnfdID {
				return declared
			}
			return nil
		}
	})
	e.run(t)
	id, err := e.vnfm.Create("upf-3", upf)
	must(t, err)
	other, err := e.vnfm.Create("other", vnfmtest.Package{VnfdID: "other-vnfd", ProductName: "SMF"})
	must(t, err)
	waitFor(t, "both instances", func() bool {
		_, a := e.instance(id)
		_, b := e.instance(other)
		return a && b
	})
	inst, _ := e.instance(id)
	if len(inst.DeclaredImages) != 1 || inst.DeclaredImages[0].Digest != declared[0].Digest {
		t.Fatalf("instance of %s declares %+v, want the catalogue's image", upf.VnfdID, inst.DeclaredImages)
	}
	if inst, _ := e.instance(other); len(inst.DeclaredImages) != 0 {
		t.Fatalf("instance of a package the catalogue does not know declares %+v, want none", inst.DeclaredImages)
	}
}
