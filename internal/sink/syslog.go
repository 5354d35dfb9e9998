package sink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// Syslog defaults.
const (
	DefaultFacility      = 16 // local0
	DefaultAppName       = "vnfguard"
	DefaultSyslogTimeout = 5 * time.Second
	// SDID names vnfguard's structured-data element; 32473 is the documentation enterprise number (RFC 5612).
	SDID = "vnfguard@32473"
)

// SyslogOptions tune a Syslog sink; zero values take the defaults. Facility 0 (kern) cannot be chosen: a daemon
// has no business logging as the kernel, so 0 means local0.
type SyslogOptions struct {
	Network  string // "udp" (default) or "tcp"
	AppName  string
	Hostname string // default os.Hostname()
	Facility int    // 1..23
	Timeout  time.Duration
}

// Syslog writes RFC 5424 messages over UDP (one datagram each) or TCP (octet-counting framing, RFC 6587).
type Syslog struct {
	addr   string
	opts   SyslogOptions
	procID string

	mu     sync.Mutex // one writer at a time on the connection, and guards conn across reconnects
	conn   net.Conn
	closed bool

	sent, failed atomic.Uint64
}

// SyslogStats counts messages (one per finding): Sent were written to the connection (UDP gives no receipt),
// Failed could not be written, after the one reconnect on TCP, or came after Close.
type SyslogStats struct {
	Sent, Failed uint64
}

// Stats returns the message counters.
func (s *Syslog) Stats() SyslogStats {
	return SyslogStats{Sent: s.sent.Load(), Failed: s.failed.Load()}
}

// NewSyslogURL reads a flag value such as udp://host:514 or tcp://host:6514 and calls NewSyslog with its scheme as
// the network; opts.Network is overridden.
func NewSyslogURL(raw string, opts SyslogOptions) (*Syslog, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("syslog sink: parse %q: %w", raw, err)
	}
	if (u.Scheme != "udp" && u.Scheme != "tcp") || u.Port() == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("syslog sink: %q: want udp://host:port or tcp://host:port", raw)
	}
	opts.Network = u.Scheme
	return NewSyslog(u.Host, opts)
}

// NewSyslog dials addr (host:port) and returns the sink. TCP errors later on make it reconnect.
func NewSyslog(addr string, opts SyslogOptions) (*Syslog, error) {
	switch opts.Network {
	case "":
		opts.Network = "udp"
	case "udp", "tcp":
	default:
		return nil, fmt.Errorf("syslog sink: network %q: want udp or tcp", opts.Network)
	}
	if opts.AppName == "" {
		opts.AppName = DefaultAppName
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname() // "-" below if unknown
	}
	if opts.Facility == 0 {
		opts.Facility = DefaultFacility
	}
	if opts.Facility < 0 || opts.Facility > 23 {
		return nil, fmt.Errorf("syslog sink: facility %d: want 1..23", opts.Facility)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultSyslogTimeout
	}
	s := &Syslog{addr: addr, opts: opts, procID: strconv.Itoa(os.Getpid())}
	conn, err := s.dial()
	if err != nil {
		return nil, err
	}
	s.conn = conn
	return s, nil
}

func (s *Syslog) dial() (net.Conn, error) {
	conn, err := net.DialTimeout(s.opts.Network, s.addr, s.opts.Timeout)
	if err != nil {
		return nil, fmt.Errorf("syslog sink: dial %s %s: %w", s.opts.Network, s.addr, err)
	}
	return conn, nil
}

// Send writes one message per finding. On TCP a failed write reconnects and retries that message once; errors for
// individual findings are joined and the rest are still sent.
func (s *Syslog) Send(_ context.Context, fs []finding.Finding) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.failed.Add(uint64(len(fs)))
		return errors.New("syslog sink: send after close")
	}
	var errs []error
	for i := range fs {
		msg := s.Format(&fs[i], time.Now())
		if s.opts.Network == "tcp" {
			msg = append([]byte(strconv.Itoa(len(msg))+" "), msg...)
		}
		if err := s.write(msg); err != nil {
			s.failed.Add(1)
			errs = append(errs, fmt.Errorf("syslog sink: finding %s: %w", fs[i].ID, err))
			continue
		}
		s.sent.Add(1)
	}
	return errors.Join(errs...)
}

func (s *Syslog) write(msg []byte) error {
	if s.conn != nil {
		_ = s.conn.SetWriteDeadline(time.Now().Add(s.opts.Timeout))
		_, err := s.conn.Write(msg)
		if err == nil || s.opts.Network != "tcp" {
			return err
		}
		// A stream may have lost part of a frame; only a new connection restores framing.
		_ = s.conn.Close()
		s.conn = nil
	}
	conn, err := s.dial()
	if err != nil {
		return err
	}
	s.conn = conn
	_ = conn.SetWriteDeadline(time.Now().Add(s.opts.Timeout))
	if _, err := conn.Write(msg); err != nil {
		_ = conn.Close()
		s.conn = nil
		return fmt.Errorf("write after reconnect to %s: %w", s.addr, err)
	}
	return nil
}

// Close closes the connection.
func (s *Syslog) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	if err != nil {
		return fmt.Errorf("syslog sink: close %s: %w", s.addr, err)
	}
	return nil
}

// syslogSeverity maps finding severities to RFC 5424 severities.
func syslogSeverity(s finding.Severity) int {
	switch s {
	case finding.Critical:
		return 2
	case finding.High:
		return 3
	case finding.Medium:
		return 4
	case finding.Low:
		return 5
	default:
		return 6
	}
}

// Format renders one RFC 5424 message (without transport framing). now stands in for a zero finding time.
func (s *Syslog) Format(f *finding.Finding, now time.Time) []byte {
	ts := f.Time
	if ts.IsZero() {
		ts = now
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<%d>1 %s %s %s %s %s [%s",
		s.opts.Facility*8+syslogSeverity(f.Severity),
		ts.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		header(s.opts.Hostname, 255), header(s.opts.AppName, 48), header(s.procID, 128), header(f.Rule, 32),
		SDID)
	for _, p := range [...][2]string{
		{"technique", f.Technique}, {"instance", f.VNFInstance}, {"rule", f.Rule}, {"severity", f.Severity.String()},
	} {
		b.WriteByte(' ')
		b.WriteString(p[0])
		b.WriteString(`="`)
		b.WriteString(sdEscape(p[1]))
		b.WriteByte('"')
	}
	b.WriteString("] ")
	b.WriteString(f.Message)
	return []byte(b.String())
}

// header makes a header field legal: printable US-ASCII without spaces, at most max bytes, "-" when empty.
func header(v string, limit int) string {
	if v == "" {
		return "-"
	}
	out := []byte(v)
	for i, c := range out {
		if c < 33 || c > 126 {
			out[i] = '_'
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return string(out)
}

// sdEscape escapes the three characters RFC 5424 reserves inside a PARAM-VALUE.
var sdEscape = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace
