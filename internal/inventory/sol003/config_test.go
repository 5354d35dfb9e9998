package sol003

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{APIRoot: "https://127.0.0.1:9890"}
	tests := []struct {
		name  string
		tweak func(*Config)
		want  []string // substrings of the error; none = valid
	}{
		{"minimal", func(*Config) {}, nil},
		{"full", func(c *Config) {
			c.TokenURL, c.ClientID, c.ClientSecret = "https://127.0.0.1:9890/token", "id", "secret"
			c.CAFile, c.CertFile, c.KeyFile = "ca.pem", "c.pem", "k.pem"
			c.CallbackURI, c.NotificationUsername, c.NotificationPassword = "https://vnfguard:8443/sol003/notifications", "u", "p"
		}, nil},
		{"no api root", func(c *Config) { c.APIRoot = "" }, []string{"apiRoot: is required"}},
		{"api root with base path", func(c *Config) { c.APIRoot = "https://vnfm/vnflcm/v2/" }, []string{"already ends in /vnflcm/v2"}},
		{"api root not http", func(c *Config) { c.APIRoot = "ftp://vnfm" }, []string{"apiRoot", "must be an http or https URL"}},
		{"api root with credentials", func(c *Config) { c.APIRoot = "https://user:pw@vnfm" }, []string{"must not carry credentials"}},
		{"api root over plain HTTP", func(c *Config) { c.APIRoot = "http://127.0.0.1:9890" }, []string{"apiRoot", "is plain HTTP"}},
		{"token url over plain HTTP", func(c *Config) {
			c.TokenURL, c.ClientID, c.ClientSecret = "http://127.0.0.1:9890/token", "id", "secret"
		}, []string{"tokenURL", "is plain HTTP"}},
		{"plain HTTP when insecure", func(c *Config) {
			c.APIRoot, c.Insecure = "http://127.0.0.1:9890", true
			c.TokenURL, c.ClientID, c.ClientSecret = "http://127.0.0.1:9890/token", "id", "secret"
		}, nil},
		{"token url without client", func(c *Config) { c.TokenURL = "https://vnfm/token" }, []string{"clientID: is required with tokenURL", "clientSecret: is required with tokenURL"}},
		{"client without token url", func(c *Config) { c.ClientID = "id" }, []string{"tokenURL: is required when clientID"}},
		{"cert without key", func(c *Config) { c.CertFile = "c.pem" }, []string{"certFile/keyFile"}},
		{"callback without credentials", func(c *Config) { c.CallbackURI = "https://vnfguard/n" }, []string{"are required with callbackURI"}},
		{"callback not a URL", func(c *Config) {
			c.CallbackURI = "vnfguard/n"
			c.NotificationUsername, c.NotificationPassword = "u", "p"
		}, []string{"callbackURI", "http or https"}},
		{"user with colon", func(c *Config) {
			c.CallbackURI, c.NotificationUsername, c.NotificationPassword = "https://vnfguard/n", "a:b", "p"
		}, []string{"must not contain ':'"}},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, []string{"timeout: -1s is negative"}},
		{"backoff inverted", func(c *Config) { c.Backoff = Backoff{Initial: time.Minute, Max: time.Second} }, []string{"backoff.max: 1s is less than backoff.initial 1m0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.tweak(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("valid config rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		for range 20 {
			if d := b.Delay(attempt); d < want/2 || d > want {
				t.Fatalf("attempt %d: delay %s outside [%s, %s]", attempt, d, want/2, want)
			}
		}
	}
	if d := (Backoff{}).Delay(100); d > DefaultBackoff.Max || d < DefaultBackoff.Max/2 {
		t.Fatalf("default backoff capped at %s gave %s", DefaultBackoff.Max, d)
	}
}

func TestDefaults(t *testing.T) {
	c := Config{APIRoot: "https://vnfm/"}.withDefaults()
	if c.Timeout != DefaultTimeout || c.ResyncInterval != DefaultResyncInterval || c.Version != "2.0.0" || c.APIRoot != "https://vnfm" || c.Backoff != DefaultBackoff {
		t.Fatalf("defaults: %+v", c)
	}
}
