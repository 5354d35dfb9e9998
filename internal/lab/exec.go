package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/websocket"
	"k8s.io/client-go/rest"
)

// execProtocol is the API server's WebSocket exec protocol (kubectl 1.30+): every binary message starts with a
// channel byte, 1 stdout, 2 stderr, 3 the final status.
const execProtocol = "v5.channel.k8s.io"

// ExecOutput runs command in a container of a pod through the API server and the kubelet, as cfg's identity, and
// returns what it printed. A denial (admission or RBAC) fails the WebSocket handshake, and x/net/websocket keeps
// only the status line: use Exec to read the verdict. A command that fails returns its output and an error with the
// status the kubelet reported.
//
// It speaks the WebSocket protocol itself (golang.org/x/net/websocket) because client-go's remotecommand needs
// modules (spdystream, gorilla/websocket) the project does not require yet.
func ExecOutput(ctx context.Context, cfg *rest.Config, namespace, pod, container string, command []string) (stdout, stderr string, err error) {
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return "", "", fmt.Errorf("lab: exec: API server URL %q: %w", cfg.Host, err)
	}
	q := url.Values{"stdout": {"true"}, "stderr": {"true"}, "command": command}
	if container != "" {
		q.Set("container", container)
	}
	u.Scheme = "wss"
	u.Path = "/api/v1/namespaces/" + namespace + "/pods/" + pod + "/exec"
	u.RawQuery = q.Encode()
	wsCfg, err := websocket.NewConfig(u.String(), "https://"+u.Host)
	if err != nil {
		return "", "", fmt.Errorf("lab: exec: %w", err)
	}
	wsCfg.Protocol = []string{execProtocol}
	if wsCfg.TlsConfig, err = rest.TLSConfigFor(cfg); err != nil {
		return "", "", fmt.Errorf("lab: exec: TLS configuration: %w", err)
	}
	if cfg.BearerToken != "" {
		wsCfg.Header.Set("Authorization", "Bearer "+cfg.BearerToken)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	ws, err := wsCfg.DialContext(ctx)
	if err != nil {
		return "", "", fmt.Errorf("lab: exec into %s/%s: %w", namespace, pod, err)
	}
	defer ws.Close()
	if err := ws.SetReadDeadline(deadline); err != nil {
		return "", "", err
	}
	var out, errOut, status bytes.Buffer
	for {
		var msg []byte
		if err := websocket.Message.Receive(ws, &msg); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return out.String(), errOut.String(), fmt.Errorf("lab: exec into %s/%s: read: %w", namespace, pod, err)
		}
		if len(msg) == 0 {
			continue
		}
		switch msg[0] {
		case 1:
			out.Write(msg[1:])
		case 2:
			errOut.Write(msg[1:])
		case 3:
			status.Write(msg[1:])
		}
	}
	if s := status.String(); s != "" && !strings.Contains(s, `"status":"Success"`) {
		return out.String(), errOut.String(), fmt.Errorf("lab: exec into %s/%s: %s", namespace, pod, s)
	}
	return out.String(), errOut.String(), nil
}
