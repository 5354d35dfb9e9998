package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// forwarder relays TCP connections from a listener to an address that dial picks per connection. It is how the
// lab's pods reach what listens on the host's loopback (the API server, PostgreSQL): the lab binds nothing but
// loopback and the pod bridge's own address, so nothing it runs is reachable from outside the machine.
type forwarder struct {
	ln   net.Listener
	dial func(ctx context.Context) (net.Conn, error)

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  chan struct{}
	// stop, when set, ends what dial depends on (an informer) once the forwarder closed.
	stop func()
}

func startForwarder(listen string, dial func(ctx context.Context) (net.Conn, error)) (*forwarder, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("lab: listen on %s: %w", listen, err)
	}
	return forwardFrom(ln, dial), nil
}

// forwardFrom relays the connections ln accepts; the forwarder owns ln from then on.
func forwardFrom(ln net.Listener, dial func(ctx context.Context) (net.Conn, error)) *forwarder {
	f := &forwarder{ln: ln, dial: dial, conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	go f.serve()
	return f
}

// Addr is where the forwarder listens, HOST:PORT.
func (f *forwarder) Addr() string { return f.ln.Addr().String() }

func (f *forwarder) serve() {
	defer close(f.done)
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		go f.relay(c)
	}
}

func (f *forwarder) track(c net.Conn, add bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		return false
	}
	if add {
		f.conns[c] = struct{}{}
	} else {
		delete(f.conns, c)
	}
	return true
}

func (f *forwarder) relay(in net.Conn) {
	defer in.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	out, err := f.dial(ctx)
	cancel()
	if err != nil {
		return // the client sees the connection closed, as it would see a refused one
	}
	defer out.Close()
	if !f.track(in, true) || !f.track(out, true) {
		return
	}
	defer f.track(in, false)
	defer f.track(out, false)
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}
	wg.Add(2)
	go pipe(out, in)
	go pipe(in, out)
	wg.Wait()
}

// close stops listening and ends every relayed connection.
func (f *forwarder) close() {
	if f == nil {
		return
	}
	_ = f.ln.Close()
	<-f.done
	f.mu.Lock()
	for c := range f.conns {
		_ = c.Close()
	}
	f.conns = nil
	f.mu.Unlock()
	if f.stop != nil {
		f.stop()
	}
}

// ExposeToPods makes target (HOST:PORT on the host, typically loopback) reachable from the node's pods and returns
// the address they dial: the gateway's, on a free port. The forwarder lives until the control plane stops.
func (n *Node) ExposeToPods(target string) (string, error) {
	if n == nil || n.Gateway == nil {
		return "", errors.New("lab: ExposeToPods needs the real node (Options.RealNode)")
	}
	var d net.Dialer
	f, err := startForwarder(net.JoinHostPort(n.Gateway.String(), "0"), func(ctx context.Context) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", target)
	})
	if err != nil {
		return "", err
	}
	n.mu.Lock()
	n.forwarders = append(n.forwarders, f)
	n.mu.Unlock()
	return f.Addr(), nil
}

// GatewayPort splits an address ExposeToPods returned into host and port.
func GatewayPort(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.Atoi(port)
	return host, p, err
}
