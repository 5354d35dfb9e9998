package sink

import (
	"bufio"
	"context"
	"io"
	"net"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// rfc5424 splits a message into PRI, VERSION, TIMESTAMP, HOSTNAME, APP-NAME, PROCID, MSGID, SD and MSG.
var rfc5424 = regexp.MustCompile(`^<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) (\[.*?[^\\]\]) (.*)$`)

// want holds what the fixture findings must look like on the wire, in fixture order.
var wantSyslog = []struct {
	pri, msgid, sd, msg string
}{
	{pri: "130", msgid: "exec-into-vnf-pod", // local0*8 + crit(2)
		sd:  `[vnfguard@32473 technique="FGT5006" instance="inst-\"amf\"\\1\]" rule="exec-into-vnf-pod" severity="critical"]`,
		msg: `exec into pod amf-0 by user "mallory"`},
	{pri: "132", msgid: "privileged_container", // local0*8 + warning(4)
		sd:  `[vnfguard@32473 technique="FGT1611" instance="inst-smf" rule="privileged container" severity="medium"]`,
		msg: "privileged container in smf-0"},
}

func checkSyslog(t *testing.T, i int, line string) {
	t.Helper()
	m := rfc5424.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("message %d is not RFC 5424: %q", i, line)
	}
	w := wantSyslog[i]
	if m[1] != w.pri || m[2] != "1" || m[4] != "testhost" || m[5] != "vnfguard" || m[7] != w.msgid || m[8] != w.sd || m[9] != w.msg {
		t.Errorf("message %d = %q\nwant PRI %s MSGID %s SD %s MSG %s", i, line, w.pri, w.msgid, w.sd, w.msg)
	}
	if _, err := time.Parse(time.RFC3339Nano, m[3]); err != nil {
		t.Errorf("message %d timestamp %q: %v", i, m[3], err)
	}
}

func TestSyslogUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s, err := NewSyslogURL("udp://"+pc.LocalAddr().String(), SyslogOptions{Hostname: "testhost"})
	if err != nil {
		t.Fatal(err)
	}
	fs := loadFindings(t)
	if err := s.Send(context.Background(), fs); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	for i := range fs {
		_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("read datagram %d: %v", i, err)
		}
		checkSyslog(t, i, string(buf[:n]))
	}
	if got := s.Stats(); got != (SyslogStats{Sent: uint64(len(fs))}) {
		t.Errorf("stats after sending %d findings: %+v", len(fs), got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), fs); err == nil {
		t.Error("Send after Close succeeded")
	}
	if got := s.Stats(); got != (SyslogStats{Sent: uint64(len(fs)), Failed: uint64(len(fs))}) {
		t.Errorf("stats after a send after Close: %+v, want the %d messages failed", got, len(fs))
	}
}

// A TCP receiver that went away (connection and listener closed): messages fail once the sink sees it (TCP reports
// a lost peer only on a later write, and the one redial is refused), and every message is counted once, sent or
// failed.
func TestSyslogTCPReceiverGoneCounted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	s, err := NewSyslog(ln.Addr().String(), SyslogOptions{Network: "tcp", Hostname: "testhost", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	(<-accepted).Close()
	_ = ln.Close()
	fs := loadFindings(t)
	sends := 0
	for ; sends < 50 && s.Stats().Failed == 0; sends++ {
		_ = s.Send(context.Background(), fs)
		time.Sleep(5 * time.Millisecond)
	}
	got := s.Stats()
	if got.Failed == 0 {
		t.Fatalf("no message failed after %d sends to a receiver that is gone: %+v", sends, got)
	}
	if got.Sent+got.Failed != uint64(sends*len(fs)) {
		t.Errorf("stats %+v after %d sends of %d findings: each message must be counted once", got, sends, len(fs))
	}
}

// readFrame reads one RFC 6587 octet-counted frame: "LEN SP MSG".
func readFrame(r *bufio.Reader) (string, error) {
	lenText, err := r.ReadString(' ')
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(lenText[:len(lenText)-1])
	if err != nil {
		return "", err
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		return "", err
	}
	return string(msg), nil
}

func TestSyslogTCPFramingAndReconnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conns := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	s, err := NewSyslog(ln.Addr().String(), SyslogOptions{Network: "tcp", Hostname: "testhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fs := loadFindings(t)
	if err := s.Send(context.Background(), fs); err != nil {
		t.Fatal(err)
	}
	first := <-conns
	r := bufio.NewReader(first)
	_ = first.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := range fs {
		msg, err := readFrame(r)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		checkSyslog(t, i, msg)
	}

	// The receiver goes away. TCP only reports that on a later write, so keep sending until the sink redials.
	_ = first.Close()
	var second net.Conn
	for i := 0; second == nil && i < 200; i++ {
		_ = s.Send(context.Background(), fs[:1])
		select {
		case second = <-conns:
		case <-time.After(10 * time.Millisecond):
		}
	}
	if second == nil {
		t.Fatal("sink never reconnected after the receiver closed the connection")
	}
	defer second.Close()
	_ = second.SetReadDeadline(time.Now().Add(5 * time.Second))
	msg, err := readFrame(bufio.NewReader(second))
	if err != nil {
		t.Fatalf("frame after reconnect: %v", err)
	}
	checkSyslog(t, 0, msg)
}

func TestSyslogSeverityAndOptions(t *testing.T) {
	for sev, want := range map[finding.Severity]int{
		finding.Critical: 2, finding.High: 3, finding.Medium: 4, finding.Low: 5, finding.Info: 6,
	} {
		if got := syslogSeverity(sev); got != want {
			t.Errorf("syslogSeverity(%s) = %d, want %d", sev, got, want)
		}
	}
	for _, raw := range []string{"udp://127.0.0.1", "http://127.0.0.1:514", "tcp://:514", "::"} {
		if _, err := NewSyslogURL(raw, SyslogOptions{}); err == nil {
			t.Errorf("NewSyslogURL(%q) succeeded", raw)
		}
	}
	for _, o := range []SyslogOptions{{Network: "unix"}, {Facility: 24}, {Facility: -1}} {
		if _, err := NewSyslog("127.0.0.1:1", o); err == nil {
			t.Errorf("NewSyslog with %+v succeeded", o)
		}
	}
}

func BenchmarkSyslogFormat(b *testing.B) {
	s := &Syslog{opts: SyslogOptions{AppName: "vnfguard", Hostname: "h", Facility: 16}, procID: "1"}
	fs := loadFindings(b)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Format(&fs[0], now)
	}
}
