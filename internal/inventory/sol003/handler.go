package sol003

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxNotification bounds a notification body; FULL verbosity lists affected resources, so allow a generous size.
const maxNotification = 4 << 20

// Handler is the notification endpoint, to be mounted at the path of CallbackURI. GET answers 204 No Content: the
// VNFM tests the endpoint before it creates the subscription (SOL013 clause 8.3.4). POST requires the Basic
// credentials of the subscription, decodes the notification, answers 204 and hands it to Run's worker, which
// fetches the instance and swaps a new snapshot in. A malformed notification gets 400 with a ProblemDetails that
// says which field is wrong.
func (s *Source) Handler() http.Handler {
	return http.HandlerFunc(s.serveNotification)
}

func (s *Source) serveNotification(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	switch r.Method {
	case http.MethodGet:
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST")
		problem(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on the notification endpoint; use POST (or GET to test it)", r.Method))
		return
	}
	if !s.authorised(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="vnfguard SOL003 notifications", charset="UTF-8"`)
		problem(w, http.StatusUnauthorized, "notifications need the HTTP Basic credentials given in the subscription")
		s.logger.Warn("SOL003 notification rejected: missing or wrong credentials", "remote", r.RemoteAddr)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxNotification+1))
	if err != nil {
		problem(w, http.StatusBadRequest, "reading the notification: "+err.Error())
		return
	}
	if len(body) > maxNotification {
		problem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the notification exceeds %d MiB", maxNotification>>20))
		return
	}
	n, err := DecodeNotification(body)
	if err != nil {
		problem(w, http.StatusBadRequest, err.Error())
		s.logger.Warn("SOL003 notification rejected: malformed", "error", err.Error(), "remote", r.RemoteAddr)
		return
	}
	n.Received = received
	w.WriteHeader(http.StatusNoContent)
	s.notified.add(n)
	s.logger.Debug("SOL003 notification", "notificationType", n.NotificationType, "vnfInstance", n.VnfInstanceID,
		"operation", n.Operation, "operationState", n.OperationState)
	s.enqueue(n)
}

// authorised compares the Basic credentials in constant time; with none configured, nothing is authorised.
func (s *Source) authorised(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok || s.cfg.NotificationUsername == "" || s.cfg.NotificationPassword == "" {
		return false
	}
	// Hash first so that the comparison takes the same time whatever the lengths.
	eq := func(a, b string) int {
		ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
		return subtle.ConstantTimeCompare(ha[:], hb[:])
	}
	return eq(user, s.cfg.NotificationUsername)&eq(pass, s.cfg.NotificationPassword) == 1
}

// problem writes an RFC 7807 ProblemDetails. ETSI's OpenAPI documents, the contract the VNFM checks, give it the
// media type application/json.
func problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Status int    `json:"status"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}{status, http.StatusText(status), detail})
}
