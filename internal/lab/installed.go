package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/store"
)

// Observer is the vnfguard a scenario is judged against: what it printed or stored, and the inventory it loaded.
// A local process (*Guard) and one installed in the cluster (*Installed) both are.
type Observer interface {
	// WaitInventory makes vnfguard take the inventory version the NFVO just wrote and waits until it has.
	WaitInventory(ctx context.Context, version string) error
	// Findings are the findings so far, in the order they came; FindingCount is how many.
	Findings() []finding.Finding
	FindingCount() int
	// WaitFindings waits up to timeout until there are more than n and returns those beyond n.
	WaitFindings(ctx context.Context, n int, timeout time.Duration) []finding.Finding
}

// InstalledOptions say where an installed vnfguard (the Helm chart) keeps what a scenario looks at.
type InstalledOptions struct {
	// Namespace and Selector pick its replicas; MetricsPort is their metrics listener (/readyz).
	Namespace, Selector string
	MetricsPort         int
	// InventoryConfigMap is the chart's inventory.configMap (key inventory.yaml); InventoryFile the file the
	// lab's NFVO writes, copied into it.
	InventoryConfigMap, InventoryFile string
	// Store is the findings store its replicas share (the chart's store.existingSecret).
	Store store.Store
	// Poll is how often the store is read (default 200 ms).
	Poll   time.Duration
	Logger *slog.Logger
}

// Installed observes a vnfguard installed in the lab's cluster. Findings come from the store its replicas share:
// the store aggregates repeats of a finding into one row with a count, so every time a row's count grows the
// finding is seen again, as a local vnfguard would print it again. The inventory goes where the chart reads it: the
// ConfigMap, which the kubelet copies into every replica's volume at the pod's next sync (the lab's kubelet syncs
// every few seconds).
type Installed struct {
	o      InstalledOptions
	cs     kubernetes.Interface
	http   *http.Client
	sink   *findingSink
	cancel context.CancelFunc
	done   chan struct{}
}

// NewInstalled starts following the store from now (earlier findings are not the scenario's).
func NewInstalled(cs kubernetes.Interface, o InstalledOptions) (*Installed, error) {
	if o.Store == nil || o.Namespace == "" || o.Selector == "" || o.MetricsPort == 0 || o.InventoryConfigMap == "" || o.InventoryFile == "" {
		return nil, errors.New("lab: an installed vnfguard needs its store, namespace, pod selector, metrics port, inventory ConfigMap and the NFVO's file")
	}
	if o.Poll == 0 {
		o.Poll = 200 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &Installed{o: o, cs: cs, http: &http.Client{Timeout: 2 * time.Second}, sink: newFindingSink(nil, o.Logger),
		cancel: cancel, done: make(chan struct{})}
	go in.follow(ctx, time.Now())
	return in, nil
}

// Close stops following the store.
func (in *Installed) Close() {
	in.cancel()
	<-in.done
}

// follow reads the findings last seen since `since` and records each new one, and each whose count grew.
func (in *Installed) follow(ctx context.Context, since time.Time) {
	defer close(in.done)
	counts := map[string]int{}
	for ctx.Err() == nil {
		fs, err := in.o.Store.List(ctx, store.Filter{Since: since})
		if err != nil && ctx.Err() == nil {
			in.o.Logger.Warn("lab: read the installed vnfguard's findings", "error", err)
		}
		// Oldest first, so that the order is the order they were seen in.
		for i := len(fs) - 1; i >= 0; i-- {
			f := fs[i]
			if n := max(f.Count, 1); n > counts[f.ID] {
				counts[f.ID] = n
				in.sink.add(f)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(in.o.Poll):
		}
	}
}

// Findings implements Observer.
func (in *Installed) Findings() []finding.Finding { return in.sink.all() }

// FindingCount implements Observer.
func (in *Installed) FindingCount() int { return in.sink.count() }

// WaitFindings implements Observer.
func (in *Installed) WaitFindings(ctx context.Context, n int, timeout time.Duration) []finding.Finding {
	return in.sink.waitBeyond(ctx, n, timeout)
}

// WaitInventory copies the NFVO's file into the inventory ConfigMap and waits until every running replica reports
// that version on /readyz: the API server may send the next request to any of them.
func (in *Installed) WaitInventory(ctx context.Context, version string) error {
	data, err := os.ReadFile(in.o.InventoryFile)
	if err != nil {
		return fmt.Errorf("lab: read the NFVO's inventory: %w", err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != version {
		return fmt.Errorf("lab: %s is not inventory version %s (rewritten since?)", in.o.InventoryFile, version)
	}
	cms := in.cs.CoreV1().ConfigMaps(in.o.Namespace)
	cm, err := cms.Get(ctx, in.o.InventoryConfigMap, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: in.o.InventoryConfigMap, Namespace: in.o.Namespace},
			Data: map[string]string{"inventory.yaml": string(data)}}, metav1.CreateOptions{})
	case err == nil && cm.Data["inventory.yaml"] != string(data):
		cm.Data = map[string]string{"inventory.yaml": string(data)}
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("lab: publish the inventory in ConfigMap %s/%s: %w", in.o.Namespace, in.o.InventoryConfigMap, err)
	}
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if last, err = in.behind(ctx, version); err == nil && last == "" {
			return nil
		}
		if err != nil {
			last = err.Error()
		}
	}
	return fmt.Errorf("lab: the installed vnfguard's replicas did not load inventory version %s within 60 s: %s", version, last)
}

// behind says which running replicas do not report the version yet ("" when all do).
func (in *Installed) behind(ctx context.Context, version string) (string, error) {
	pods, err := in.cs.CoreV1().Pods(in.o.Namespace).List(ctx, metav1.ListOptions{LabelSelector: in.o.Selector})
	if err != nil {
		return "", err
	}
	var behind []string
	running := 0
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
			continue
		}
		running++
		st, _, err := readyz(ctx, in.http, "http://"+net.JoinHostPort(p.Status.PodIP, fmt.Sprint(in.o.MetricsPort)))
		if err != nil || !st.Inventory.Loaded || st.Inventory.Version != version {
			behind = append(behind, fmt.Sprintf("%s has %q (%v)", p.Name, st.Inventory.Version, err))
		}
	}
	if running == 0 {
		return "no running replica", nil
	}
	return strings.Join(behind, "; "), nil
}

var _ Observer = (*Guard)(nil)
var _ Observer = (*Installed)(nil)
