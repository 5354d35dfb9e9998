package sol003

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vnfguard/vnfguard/internal/inventory/sol003/vnfmtest"
)

func TestNotificationEndpoint(t *testing.T) {
	e := newEnv(t, vnfmtest.Options{}, nil)
	valid, err := os.ReadFile("testdata/notifications/operate-completed.json")
	must(t, err)
	tests := []struct {
		name       string
		method     string
		user, pass string
		body       string
		status     int
		want       string // in the body
	}{
		{name: "test GET", method: http.MethodGet, status: http.StatusNoContent},
		{name: "no credentials", method: http.MethodPost, body: string(valid), status: http.StatusUnauthorized, want: "HTTP Basic credentials"},
		{name: "wrong password", method: http.MethodPost, user: notifyUser, pass: "nope", body: string(valid), status: http.StatusUnauthorized},
		{name: "wrong user", method: http.MethodPost, user: "admin", pass: notifyPass, body: string(valid), status: http.StatusUnauthorized},
		{name: "valid", method: http.MethodPost, user: notifyUser, pass: notifyPass, body: string(valid), status: http.StatusNoContent},
		{name: "not JSON", method: http.MethodPost, user: notifyUser, pass: notifyPass, body: `{"notificationType": VnfLcm}`, status: http.StatusBadRequest, want: "invalid JSON at offset 22"},
		{name: "unknown operationState", method: http.MethodPost, user: notifyUser, pass: notifyPass,
			body: strings.Replace(string(valid), `"COMPLETED"`, `"DONE"`, 1), status: http.StatusBadRequest, want: `operationState: is \"DONE\"`},
		{name: "PUT", method: http.MethodPut, status: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/sol003/notifications", strings.NewReader(tt.body))
			if tt.user != "" {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			rec := httptest.NewRecorder()
			e.src.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == http.StatusUnauthorized && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("401 without a Basic challenge: %q", rec.Header().Get("WWW-Authenticate"))
			}
			if tt.want != "" && !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("body %s does not say %s", rec.Body, tt.want)
			}
			if rec.Code >= 400 {
				var pd struct {
					Status int    `json:"status"`
					Detail string `json:"detail"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &pd); err != nil || pd.Status != rec.Code || pd.Detail == "" {
					t.Errorf("error body is not a ProblemDetails: %s", rec.Body)
				}
			}
		})
	}
}

// TestNotificationFixtures decodes the notifications under testdata/notifications: the good ones and, under bad/,
// the ones that must be rejected with the error in their .err file.
func TestNotificationFixtures(t *testing.T) {
	good, _ := filepath.Glob("testdata/notifications/*.json")
	bad, _ := filepath.Glob("testdata/notifications/bad/*.json")
	if len(good) == 0 || len(bad) == 0 {
		t.Fatal("no fixtures")
	}
	for _, file := range good {
		data, err := os.ReadFile(file)
		must(t, err)
		if _, err := DecodeNotification(data); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
	for _, file := range bad {
		data, err := os.ReadFile(file)
		must(t, err)
		want, err := os.ReadFile(strings.TrimSuffix(file, ".json") + ".err")
		must(t, err)
		_, err = DecodeNotification(data)
		if err == nil || err.Error() != strings.TrimSpace(string(want)) {
			t.Errorf("%s: error %v\nwant %s", file, err, want)
		}
	}
}
