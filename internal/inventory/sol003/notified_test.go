package sol003

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/inventory/sol003/vnfmtest"
)

// TestNotificationsCountedAndTimed: every notification the endpoint accepts is counted by kind, and Applied is
// told of it once the instance it names is in the snapshot, with the time from its receipt; a notification with
// wrong credentials is neither.
func TestNotificationsCountedAndTimed(t *testing.T) {
	var mu sync.Mutex
	applied := map[NotificationKind][]time.Duration{}
	e := newEnv(t, vnfmtest.Options{}, func(c *Config) {
		c.Applied = func(n *Notification, took time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			k := NotificationKind{Type: n.NotificationType, Operation: n.Operation, State: n.OperationState}
			applied[k] = append(applied[k], took)
		}
	})
	e.run(t)
	id, err := e.vnfm.Create("upf-2", upf)
	must(t, err)
	must(t, e.vnfm.Instantiate(id, vnfmtest.Workload{Namespace: "vnf-upf2", Name: "upf", Replicas: 1}))
	completed := NotificationKind{Type: NotificationLcmOperationOccurrence, Operation: "INSTANTIATE", State: "COMPLETED"}
	waitFor(t, "INSTANTIATE COMPLETED applied", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(applied[completed]) == 1
	})
	want := map[NotificationKind]uint64{
		{Type: NotificationIdentifierCreation}:                                                    1,
		{Type: NotificationLcmOperationOccurrence, Operation: "INSTANTIATE", State: "STARTING"}:   1,
		{Type: NotificationLcmOperationOccurrence, Operation: "INSTANTIATE", State: "PROCESSING"}: 1,
		completed: 1,
	}
	got := map[NotificationKind]uint64{}
	for _, c := range e.src.Notifications() {
		got[c.NotificationKind] = c.Count
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%+v counted %d times, want %d (all: %v)", k, got[k], n, got)
		}
	}
	mu.Lock()
	took := applied[completed][0]
	mu.Unlock()
	if inst, ok := e.instance(id); !ok || !inst.Running() {
		t.Fatalf("Applied was told of INSTANTIATE COMPLETED before the instance was INSTANTIATED in the snapshot")
	}
	if took <= 0 || took > 10*time.Second {
		t.Errorf("INSTANTIATE COMPLETED took %v from receipt to the snapshot", took)
	}

	// Wrong credentials: refused, not counted.
	before := len(e.src.Notifications())
	resp := postNotification(t, e.callback.URL+"/sol003/notifications", "intruder", "guess", `{"notificationType":"VnfIdentifierCreationNotification"}`)
	if resp != 401 {
		t.Errorf("notification with wrong credentials answered %d, want 401", resp)
	}
	if n := len(e.src.Notifications()); n != before {
		t.Errorf("a refused notification was counted: %d kinds, %d before", n, before)
	}
}

// postNotification POSTs a notification body with Basic credentials and returns the status code.
func postNotification(t *testing.T, url, user, pass, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	must(t, err)
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	return resp.StatusCode
}
