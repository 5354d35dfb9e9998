package sol003

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// Defaults of Config.
const (
	DefaultTimeout        = 10 * time.Second
	DefaultResyncInterval = 5 * time.Minute
	DefaultVersion        = "2.0.0" // the Version header of SOL003 VNF LCM v2 (Tacker's value too)
	// DefaultOperationTimeout bounds how long an LCM operation whose end was never notified keeps its instance's
	// ActiveOperation across full resyncs: an operation lets the VNFM's workloads in, so a lost COMPLETED must not
	// leave that door open for ever.
	DefaultOperationTimeout = 15 * time.Minute
	// BasePath is the VNF LCM API under the API root.
	BasePath = "/vnflcm/v2"
)

// Config is how the SOL003 source reaches the VNFM. The lead maps vnfguard's YAML configuration onto it.
type Config struct {
	// APIRoot is the VNFM's {apiRoot}, e.g. https://127.0.0.1:9890; the client adds /vnflcm/v2.
	APIRoot string
	// TokenURL, ClientID and ClientSecret are the OAuth 2.0 client credentials grant; an empty TokenURL means
	// that the API is called without authorisation.
	TokenURL     string
	ClientID     string
	ClientSecret string
	// CAFile verifies the VNFM's (and the token endpoint's) certificate; empty = the system roots. CertFile and
	// KeyFile, together, are the client certificate for mutual TLS.
	CAFile   string
	CertFile string
	KeyFile  string
	// Insecure allows plain http:// for APIRoot and TokenURL (a lab VNFM on loopback); without it both must be
	// https, since the VNFM's answers decide what admission allows and the token request carries the secret.
	Insecure bool
	// Timeout bounds each HTTP request (DefaultTimeout when zero).
	Timeout time.Duration
	// ResyncInterval is the period of the full list that repairs missed notifications (DefaultResyncInterval).
	ResyncInterval time.Duration
	// OperationTimeout: see DefaultOperationTimeout.
	OperationTimeout time.Duration
	// CallbackURI is where the VNFM must POST LCM notifications (the URL under which the lead mounts
	// Source.Handler); empty = no subscription, the periodic resync alone keeps the inventory current.
	CallbackURI string
	// NotificationUsername and NotificationPassword are the HTTP Basic credentials given to the VNFM in the
	// subscription (authType BASIC) and required on every notification. Required with CallbackURI.
	NotificationUsername string
	NotificationPassword string
	// MaySubscribe says whether this replica holds the subscription: with several vnfguard replicas, only the
	// leader does (one subscription at the VNFM, not one per replica and restart). nil: always. A replica that may
	// not still lists periodically and applies the notifications it receives; TakeOverSubscription makes it
	// subscribe at once when it becomes the leader.
	MaySubscribe func() bool
	// Version is the Version header (DefaultVersion when empty).
	Version string
	// Backoff paces retries after a failure; the zero value is DefaultBackoff.
	Backoff Backoff
	// Now is the clock (time.Now when nil); tests set it.
	Now func() time.Time
	// DeclaredImages, when set, gives the images the onboarded package of a vnfdId declares: a VNFM's VnfInstance
	// does not carry them, and admission's image-provenance check binds an instance's images to its package. It is
	// asked whenever an instance is taken in (a list or a notification), and must be cheap and safe for concurrent use.
	DeclaredImages func(vnfdID string) []vnf.DeclaredImage
	// Applied, when set, is told of each notification the endpoint received once the inventory admission uses
	// reflects it, with the time from its receipt (the metric of how fast a VNFM's change reaches admission).
	Applied func(n *Notification, took time.Duration)
}

// Backoff is exponential backoff with jitter: the n-th consecutive failure waits a random time in
// [d/2, d], d = min(Initial·2ⁿ, Max), so that many vnfguard replicas do not hammer a recovering VNFM in step.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// DefaultBackoff starts at one second and is capped at one minute.
var DefaultBackoff = Backoff{Initial: time.Second, Max: time.Minute}

// Delay is the wait before retry number attempt (0-based).
func (b Backoff) Delay(attempt int) time.Duration {
	if b.Initial <= 0 {
		b.Initial = DefaultBackoff.Initial
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoff.Max
	}
	d := b.Initial
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// withDefaults returns the config with its zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ResyncInterval <= 0 {
		c.ResyncInterval = DefaultResyncInterval
	}
	if c.OperationTimeout <= 0 {
		c.OperationTimeout = DefaultOperationTimeout
	}
	if c.Version == "" {
		c.Version = DefaultVersion
	}
	if c.Backoff == (Backoff{}) {
		c.Backoff = DefaultBackoff
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.APIRoot = strings.TrimRight(c.APIRoot, "/")
	return c
}

// Validate checks the config and returns every problem, each naming its field.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("sol003 config: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	checkURL := func(field, value string, required bool) *url.URL {
		if value == "" {
			if required {
				bad(field, "is required")
			}
			return nil
		}
		u, err := url.Parse(value)
		switch {
		case err != nil:
			bad(field, "%q is not a URL: %v", value, err)
			return nil
		case u.Scheme != "http" && u.Scheme != "https":
			bad(field, "%q must be an http or https URL", value)
			return nil
		case u.Host == "":
			bad(field, "%q has no host", value)
			return nil
		case u.User != nil:
			bad(field, "%q must not carry credentials; use the dedicated fields", redact(u))
			return nil
		}
		return u
	}
	// plain refuses http:// for the VNFM's own endpoints unless Insecure (the callback is vnfguard's own URL).
	plain := func(field string, u *url.URL) {
		if u != nil && u.Scheme == "http" && !c.Insecure {
			bad(field, "%q is plain HTTP: use https, or set Insecure for a lab VNFM", redact(u))
		}
	}
	apiRoot := checkURL("apiRoot", c.APIRoot, true)
	plain("apiRoot", apiRoot)
	if u := apiRoot; u != nil {
		if u.RawQuery != "" || u.Fragment != "" {
			bad("apiRoot", "%q must not have a query or fragment", c.APIRoot)
		}
		if strings.HasSuffix(strings.TrimRight(u.Path, "/"), BasePath) {
			bad("apiRoot", "%q already ends in %s; give the API root, the client adds %s", c.APIRoot, BasePath, BasePath)
		}
	}
	if u := checkURL("tokenURL", c.TokenURL, false); u != nil {
		plain("tokenURL", u)
		if c.ClientID == "" {
			bad("clientID", "is required with tokenURL")
		}
		if c.ClientSecret == "" {
			bad("clientSecret", "is required with tokenURL")
		}
	} else if c.TokenURL == "" && (c.ClientID != "" || c.ClientSecret != "") {
		bad("tokenURL", "is required when clientID or clientSecret is set")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		bad("certFile/keyFile", "give both the client certificate and its key for mutual TLS, or neither")
	}
	if checkURL("callbackURI", c.CallbackURI, false) != nil {
		if c.NotificationUsername == "" || c.NotificationPassword == "" {
			bad("notificationUsername/notificationPassword", "are required with callbackURI: notifications must be authenticated")
		}
		if strings.Contains(c.NotificationUsername, ":") {
			bad("notificationUsername", "must not contain ':' (HTTP Basic authentication)")
		}
	}
	for _, d := range []struct {
		field string
		value time.Duration
	}{{"timeout", c.Timeout}, {"resyncInterval", c.ResyncInterval}, {"operationTimeout", c.OperationTimeout}, {"backoff.initial", c.Backoff.Initial}, {"backoff.max", c.Backoff.Max}} {
		if d.value < 0 {
			bad(d.field, "%s is negative", d.value)
		}
	}
	if c.Backoff.Initial > 0 && c.Backoff.Max > 0 && c.Backoff.Max < c.Backoff.Initial {
		bad("backoff.max", "%s is less than backoff.initial %s", c.Backoff.Max, c.Backoff.Initial)
	}
	if strings.ContainsAny(c.Version, "\r\n") {
		bad("version", "%q is not a header value", c.Version)
	}
	return errors.Join(errs...)
}

func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}
