package sol003

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// queueLen bounds the notifications waiting for the worker. A VNFM that outruns it costs a full resync, never a
// lost state change.
const queueLen = 1024

// Source is the SOL003 inventory: the snapshot of the VNFM's instances, kept current by LCM notifications and
// repaired by periodic full lists. It implements vnf.Inventory and vnf.Historian.
type Source struct {
	// OnChange, when set before Run, is called with each new snapshot after it is in force (from Run's
	// goroutines, one at a time, in the order the snapshots came into force).
	OnChange func(*vnf.Snapshot)

	cfg     Config
	client  *Client
	logger  *slog.Logger
	name    string
	snap    atomic.Pointer[vnf.Snapshot]
	history vnf.History
	queue   chan *Notification
	resync  chan struct{} // a full list is wanted now

	hookMu    sync.Mutex // serialises OnChange calls
	mu        sync.Mutex // serialises snapshot swaps and guards the fields below
	lastErr   error
	lastFull  time.Time
	subID     string
	seq       uint64               // counts incremental updates
	touched   map[string]uint64    // instance id → seq of its last incremental update
	opStarted map[string]time.Time // instance id → when its ActiveOperation began
	derived   map[string]derived   // what notifications taught about instances, kept across resyncs
	digests   map[string]digest    // instance id → digest of the instance value in force

	notified notifiedCounts
}

// digest caches the hash of an instance for snapshot versions: instances in a snapshot are never modified, so a
// notification re-hashes one instance, not the whole inventory.
type digest struct {
	inst *vnf.Instance
	sum  [sha256.Size]byte
}

// derived is what vnfguard knows of an instance beyond the VnfInstance the VNFM returns.
type derived struct {
	terminationRequested bool
	terminatedAt         *time.Time
}

var _ vnf.Historian = (*Source)(nil)

// NewSource checks the config and returns the source. Nothing is fetched until Run: Snapshot is unloaded (Loaded
// false, so protected namespaces fail closed) until the first list succeeds. A nil logger discards logs.
func NewSource(cfg Config, logger *slog.Logger) (*Source, error) {
	client, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	name := "sol003:" + client.cfg.APIRoot
	s := &Source{
		cfg:       client.cfg,
		client:    client,
		logger:    logger.With("inventory", name),
		name:      name,
		queue:     make(chan *Notification, queueLen),
		resync:    make(chan struct{}, 1),
		touched:   map[string]uint64{},
		opStarted: map[string]time.Time{},
		derived:   map[string]derived{},
		digests:   map[string]digest{},
	}
	s.snap.Store(vnf.Empty(name))
	return s, nil
}

// Client is the source's SOL003 client.
func (s *Source) Client() *Client { return s.client }

// Snapshot returns the snapshot in force. It never blocks. Its LoadedAt is the time of the last change taken in,
// by a full list or by a notification; Status tells them apart.
func (s *Source) Snapshot() *vnf.Snapshot { return s.snap.Load() }

// RecordHistory hands every snapshot that comes into force, starting with the current one, to record (see
// vnf.History.SetRecorder).
func (s *Source) RecordHistory(record func(*vnf.Snapshot)) { s.history.SetRecorder(record) }

// SnapshotAt returns the snapshot that was in force at t (see vnf.Historian).
func (s *Source) SnapshotAt(t time.Time) *vnf.Snapshot {
	if snap := s.history.At(t); snap != nil {
		return snap
	}
	return s.Snapshot()
}

// LastError is the error of the last list, fetch or subscription attempt, nil when it succeeded.
func (s *Source) LastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// Status is the source's health, for /readyz and metrics.
type Status struct {
	Source         string
	Loaded         bool
	LoadedAt       time.Time // last change taken in (full list or notification); zero until loaded
	LastFullSync   time.Time // last successful full list; the age of the inventory at worst
	Instances      int
	Subscribed     bool
	SubscriptionID string
	LastError      error
}

// Status returns the source's health.
func (s *Source) Status() Status {
	snap := s.Snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	return Status{Source: s.name, Loaded: snap.Loaded, LoadedAt: snap.LoadedAt, LastFullSync: s.lastFull, Instances: snap.Len(),
		Subscribed: s.subID != "", SubscriptionID: s.subID, LastError: s.lastErr}
}

// Run lists the instances (retrying with backoff until it succeeds), subscribes to LCM notifications when a
// callback URI is configured, then applies notifications as they come and lists everything again every resync
// interval, until ctx ends; it returns nil then. Errors never replace the snapshot in force: they are logged, kept
// for LastError and retried with backoff.
func (s *Source) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.work(ctx)
	}()
	defer wg.Wait()

	failures := 0
	subscribed := s.cfg.CallbackURI == ""
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-s.resync:
			timer.Stop()
		}
		err := s.Resync(ctx)
		may := s.cfg.MaySubscribe == nil || s.cfg.MaySubscribe()
		if err == nil && subscribed && s.cfg.CallbackURI != "" && may {
			subscribed = s.stillSubscribed(ctx)
		}
		if err == nil && !subscribed && may {
			err = s.subscribe(ctx)
			subscribed = err == nil
		}
		if ctx.Err() != nil {
			return nil
		}
		next := s.cfg.ResyncInterval
		if err != nil {
			next = s.cfg.Backoff.Delay(failures)
			failures++
		} else {
			failures = 0
		}
		timer.Reset(next)
	}
}

// Resync lists every instance now and swaps the result in; it is what Run does periodically.
func (s *Source) Resync(ctx context.Context) error {
	s.mu.Lock()
	startSeq := s.seq
	s.mu.Unlock()
	instances, err := s.client.ListInstances(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		s.fail("list", err)
		return err
	}
	s.mu.Lock()
	now := s.cfg.Now()
	snap := s.merge(instances, startSeq, now)
	s.lastFull = now
	changed := s.swap(snap, "resync")
	s.lastErr = nil
	s.unlockAndTell(changed, snap)
	return nil
}

// merge builds the snapshot of a full list, under mu. An instance a notification updated while the list was in
// flight keeps the notification's version, which is newer.
func (s *Source) merge(listed []*vnf.Instance, startSeq uint64, now time.Time) *vnf.Snapshot {
	current := s.snap.Load()
	out := make([]*vnf.Instance, 0, len(listed))
	inList := make(map[string]bool, len(listed))
	for _, inst := range listed {
		inList[inst.ID] = true
		if s.touched[inst.ID] > startSeq {
			if cur, ok := current.Instance(inst.ID); ok {
				out = append(out, cur)
			}
			continue // updated or deleted by a notification meanwhile
		}
		prev, _ := current.Instance(inst.ID)
		out = append(out, s.decorate(inst, prev, now))
	}
	for _, cur := range current.Instances() {
		if !inList[cur.ID] && s.touched[cur.ID] > startSeq {
			out = append(out, cur) // created by a notification after the list was taken
		}
	}
	// Forget the instances that are gone, unless a notification spoke of them while the list was in flight.
	gone := func(id string) bool { return !inList[id] && s.touched[id] <= startSeq }
	for id := range s.touched {
		if gone(id) {
			delete(s.touched, id)
		}
	}
	for id := range s.derived {
		if gone(id) {
			delete(s.derived, id)
		}
	}
	for id := range s.opStarted {
		if gone(id) {
			delete(s.opStarted, id)
		}
	}
	return s.newSnapshot(out, now)
}

// declare attaches the images the instance's package declares, from the catalogue when there is one.
func (s *Source) declare(inst *vnf.Instance) {
	if s.cfg.DeclaredImages != nil {
		inst.DeclaredImages = s.cfg.DeclaredImages(inst.VnfdID)
	}
}

// decorate fills what vnfguard derives on an instance fresh from the VNFM, from what it knew before (prev, the
// instance in force, may be nil). It must not modify prev: older snapshots share it.
func (s *Source) decorate(inst, prev *vnf.Instance, now time.Time) *vnf.Instance {
	d := s.derived[inst.ID]
	if prev != nil && prev.InstantiationState == vnf.Instantiated && inst.InstantiationState == vnf.NotInstantiated && d.terminatedAt == nil {
		// The TERMINATE notification was missed: the list is the first news of it, so now is the best bound.
		t := now
		d.terminatedAt, d.terminationRequested = &t, true
		s.derived[inst.ID] = d
	}
	if inst.InstantiationState == vnf.Instantiated && d.terminatedAt != nil {
		d = derived{} // instantiated again
		delete(s.derived, inst.ID)
	}
	inst.TerminationRequested = d.terminationRequested
	inst.TerminatedAt = d.terminatedAt
	s.declare(inst)
	if prev != nil && prev.ActiveOperation != nil {
		if started, ok := s.opStarted[inst.ID]; ok && now.Sub(started) < s.cfg.OperationTimeout {
			inst.ActiveOperation = prev.ActiveOperation
		} else {
			delete(s.opStarted, inst.ID)
			s.logger.Warn("LCM operation never reported its end; no longer treating it as active",
				"vnfInstance", inst.ID, "operation", prev.ActiveOperation.Operation, "operationTimeout", s.cfg.OperationTimeout.String())
		}
	}
	return inst
}

// newSnapshot indexes the instances with a version that digests their content, derived facts included. Under mu.
func (s *Source) newSnapshot(instances []*vnf.Instance, now time.Time) *vnf.Snapshot {
	h := sha256.New()
	seen := make(map[string]bool, len(instances))
	for _, inst := range instances {
		seen[inst.ID] = true
		d, ok := s.digests[inst.ID]
		if !ok || d.inst != inst {
			ih := sha256.New()
			enc := json.NewEncoder(ih)
			_ = enc.Encode(inst) // encoding into a hash cannot fail for these types
			_ = enc.Encode([]any{inst.TerminationRequested, inst.TerminatedAt, inst.ActiveOperation, inst.DisclosedCredentials})
			d = digest{inst: inst}
			ih.Sum(d.sum[:0])
			s.digests[inst.ID] = d
		}
		h.Write(d.sum[:])
	}
	for id := range s.digests {
		if !seen[id] {
			delete(s.digests, id)
		}
	}
	return vnf.NewSnapshot(s.name, hex.EncodeToString(h.Sum(nil)), now, instances)
}

// swap puts snap in force, under mu, unless it holds what is in force already. It reports whether it did.
func (s *Source) swap(snap *vnf.Snapshot, reason string) bool {
	current := s.snap.Load()
	if current.Loaded && current.Version == snap.Version {
		return false
	}
	s.snap.Store(snap)
	s.history.Add(snap)
	attrs := []any{"version", snap.Version[:12], "instances", snap.Len(), "reason", reason}
	if !current.Loaded {
		s.logger.Info("SOL003 inventory loaded", attrs...)
	} else {
		s.logger.Debug("SOL003 inventory updated", attrs...)
	}
	return true
}

// fail records an error, saying what stays in force. The same error again (a VNFM down for minutes, retried with
// backoff) is logged at debug level only.
func (s *Source) fail(what string, err error) {
	current := s.snap.Load()
	s.mu.Lock()
	repeated := s.lastErr != nil && s.lastErr.Error() == err.Error()
	s.lastErr = err
	s.mu.Unlock()
	if repeated {
		s.logger.Debug("SOL003 "+what+" failed again", "error", err.Error())
		return
	}
	if current.Loaded {
		s.logger.Error("SOL003 "+what+" failed; the inventory in force stays", "error", err.Error(),
			"versionInForce", current.Version[:12], "age", s.cfg.Now().Sub(current.LoadedAt).Round(time.Second).String())
		return
	}
	s.logger.Error("SOL003 "+what+" failed; no inventory is loaded, so protected namespaces fail closed", "error", err.Error())
}

func (s *Source) subscribe(ctx context.Context) error {
	s.replaceEarlierSubscriptions(ctx)
	req := NewSubscriptionRequest(s.cfg.CallbackURI, s.cfg.NotificationUsername, s.cfg.NotificationPassword)
	id, err := s.client.Subscribe(ctx, req)
	if err != nil {
		if ctx.Err() == nil {
			s.fail("subscription", fmt.Errorf("subscribe to LCM notifications at %s: %w", s.cfg.CallbackURI, err))
		}
		return err
	}
	s.mu.Lock()
	s.subID = id
	s.lastErr = nil
	s.mu.Unlock()
	s.logger.Info("subscribed to SOL003 LCM notifications", "subscriptionId", id, "callbackUri", s.cfg.CallbackURI)
	return nil
}

// stillSubscribed checks, at each resync, that the VNFM has not lost the subscription (a restore, an operator's
// cleanup); when it has, Run subscribes again. An error checking is not a loss: the next resync asks again.
func (s *Source) stillSubscribed(ctx context.Context) bool {
	s.mu.Lock()
	id := s.subID
	s.mu.Unlock()
	ok, err := s.client.SubscriptionExists(ctx, id)
	if err != nil {
		s.logger.Warn("cannot check the SOL003 subscription", "subscriptionId", id, "error", err.Error())
		return true
	}
	if !ok {
		s.logger.Warn("the VNFM no longer holds vnfguard's subscription; subscribing again", "subscriptionId", id)
		s.mu.Lock()
		s.subID = ""
		s.mu.Unlock()
	}
	return ok
}

// TakeOverSubscription asks Run for a full list and, since MaySubscribe now allows it, the subscription (or the
// check that the VNFM still holds it) as soon as possible: what a replica does when it becomes the leader.
func (s *Source) TakeOverSubscription() { s.requestResync() }

// requestResync asks Run for a full list as soon as possible.
func (s *Source) requestResync() {
	select {
	case s.resync <- struct{}{}:
	default:
	}
}

// enqueue hands a notification to the worker; when the queue is full, a full list will catch up instead.
func (s *Source) enqueue(n *Notification) {
	select {
	case s.queue <- n:
	default:
		s.logger.Warn("SOL003 notification queue full; a full resync will catch up", "vnfInstance", n.VnfInstanceID, "notificationType", n.NotificationType)
		s.requestResync()
	}
}

// maxBatch bounds the notifications the worker takes in with one snapshot swap. A swap re-indexes the whole
// inventory, so a burst (an NFVO scaling many VNFs at once) costs a few swaps rather than one per notification,
// while the first notification of a batch waits for at most this many GETs.
const maxBatch = 32

// work applies the queued notifications in order until ctx ends.
func (s *Source) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case n := <-s.queue:
			batch := []*Notification{n}
		drain:
			for len(batch) < maxBatch {
				select {
				case m := <-s.queue:
					batch = append(batch, m)
				default:
					break drain
				}
			}
			if err := s.apply(ctx, batch); err != nil && ctx.Err() == nil {
				s.fail("notification", err)
				s.requestResync() // the list repairs what the notification could not
			}
		}
	}
}

// Apply takes one notification in: it fetches the instance when its state may have changed, or removes it, and
// sets or clears its ActiveOperation. The worker does this for the notifications Handler receives; tests and
// benchmarks may call it directly.
func (s *Source) Apply(ctx context.Context, n *Notification) error {
	return s.apply(ctx, []*Notification{n})
}

// apply prepares the changes of the notifications, in order, and commits them with one swap. A notification whose
// instance cannot be fetched is skipped and reported; the others are still taken in.
func (s *Source) apply(ctx context.Context, batch []*Notification) error {
	changes := make([]change, 0, len(batch))
	var errs []error
	for _, n := range batch {
		c, err := s.prepare(ctx, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		changes = append(changes, c)
	}
	if len(changes) > 0 {
		s.commit(changes)
		if s.cfg.Applied != nil {
			now := time.Now()
			for _, n := range batch {
				if !n.Received.IsZero() {
					s.cfg.Applied(n, now.Sub(n.Received))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// change is what one notification teaches about one instance.
type change struct {
	id     string
	inst   *vnf.Instance // the instance as the VNFM now returns it; nil with remove
	remove bool
	at     time.Time      // the notification's timeStamp
	learn  func(*derived) // updates what vnfguard derives, given the instance fetched
}

// prepare fetches what the notification's instance has become.
func (s *Source) prepare(ctx context.Context, n *Notification) (change, error) {
	c := change{id: n.VnfInstanceID, at: n.TimeStamp}
	if n.NotificationType == NotificationIdentifierDeletion {
		c.remove = true
		return c, nil
	}
	var op *vnf.ActiveOperation
	if n.NotificationType == NotificationLcmOperationOccurrence && !finalStates[n.OperationState] {
		op = &vnf.ActiveOperation{Operation: n.Operation, State: n.OperationState}
	}
	inst, err := s.client.GetInstance(ctx, n.VnfInstanceID)
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) && se.Status == 404 && n.NotificationType != NotificationIdentifierCreation {
			c.remove = true // gone already: its deletion notification follows
			return c, nil
		}
		what := n.NotificationType
		if n.Operation != "" {
			what = n.Operation + " " + n.OperationState
		}
		return c, fmt.Errorf("%s of VNF instance %s: %w", what, n.VnfInstanceID, err)
	}
	c.inst = inst
	c.learn = func(d *derived) {
		if n.Operation == "TERMINATE" {
			d.terminationRequested = true
			// The COMPLETED notification's time is the termination's; a GET that already shows the instance
			// NOT_INSTANTIATED while the operation runs gives a first bound.
			if inst.InstantiationState == vnf.NotInstantiated && (n.OperationState == "COMPLETED" || d.terminatedAt == nil) {
				t := n.TimeStamp
				d.terminatedAt = &t
			}
		}
		if n.Operation == "INSTANTIATE" && n.OperationState == "COMPLETED" {
			*d = derived{}
		}
		inst.ActiveOperation = op
	}
	return c, nil
}

// commit applies the changes in order and swaps the new snapshot in.
func (s *Source) commit(changes []change) {
	s.mu.Lock()
	current := s.snap.Load()
	now := s.cfg.Now()
	out := append([]*vnf.Instance(nil), current.Instances()...)
	pos := make(map[string]int, len(out))
	for i, inst := range out {
		pos[inst.ID] = i
	}
	for _, c := range changes {
		if current.Loaded {
			// Before the first list there is nothing for a list in flight to keep; marking it would drop it.
			s.seq++
			s.touched[c.id] = s.seq
		}
		i, known := pos[c.id]
		if c.remove {
			delete(s.derived, c.id)
			delete(s.opStarted, c.id)
			if known {
				out[i] = nil
				delete(pos, c.id)
			}
			continue
		}
		inst := c.inst
		d := s.derived[c.id]
		if c.learn != nil {
			c.learn(&d)
		}
		if known && out[i].InstantiationState == vnf.Instantiated && inst.InstantiationState == vnf.NotInstantiated && d.terminatedAt == nil {
			// Terminated, though not (yet) by the notification of a TERMINATE: another operation's GET saw it
			// first. The TERMINATE COMPLETED notification, when it comes, sets the exact time.
			t := c.at
			if t.IsZero() {
				t = now
			}
			d.terminatedAt, d.terminationRequested = &t, true
		}
		s.derived[c.id] = d
		inst.TerminationRequested, inst.TerminatedAt = d.terminationRequested, d.terminatedAt
		s.declare(inst)
		if inst.ActiveOperation != nil {
			if _, running := s.opStarted[c.id]; !running {
				s.opStarted[c.id] = now
			}
		} else {
			delete(s.opStarted, c.id)
		}
		if known {
			out[i] = inst
		} else {
			pos[c.id] = len(out)
			out = append(out, inst)
		}
	}
	kept := out[:0]
	for _, inst := range out {
		if inst != nil {
			kept = append(kept, inst)
		}
	}
	var snap *vnf.Snapshot
	changed := false
	// Before the first full list, a notification cannot make a complete inventory: only the list may load it.
	if current.Loaded {
		snap = s.newSnapshot(kept, now)
		changed = s.swap(snap, "notification")
	}
	s.unlockAndTell(changed, snap)
}

// unlockAndTell releases mu and, when a snapshot was swapped in, calls OnChange with it. The hook runs outside mu
// (so that it may call Status), but under hookMu taken before mu is released, so that two swaps are told one at a
// time and in the order they happened.
func (s *Source) unlockAndTell(changed bool, snap *vnf.Snapshot) {
	if !changed || s.OnChange == nil {
		s.mu.Unlock()
		return
	}
	s.hookMu.Lock()
	s.mu.Unlock()
	defer s.hookMu.Unlock()
	s.OnChange(snap)
}
