package lab

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeAuditWebhookConfig reserves vnfguard's port and writes the kubeconfig the API server's audit webhook backend
// uses to reach it (https://127.0.0.1:PORT/audit, the lab CA, a bearer token), and the token file vnfguard checks.
func (cp *ControlPlane) writeAuditWebhookConfig() (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return "", fmt.Errorf("lab: audit token: %w", err)
	}
	token := hex.EncodeToString(secret)
	dir := filepath.Join(cp.WorkDir, "vnfguard")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("lab: create %s: %w", dir, err)
	}
	cp.auditTokenFile = filepath.Join(dir, "audit-tokens")
	if err := os.WriteFile(cp.auditTokenFile, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("lab: write %s: %w", cp.auditTokenFile, err)
	}
	file := filepath.Join(cp.WorkDir, "audit-webhook.kubeconfig")
	if err := WriteAuditWebhookConfig(file, "https://127.0.0.1:"+strconv.Itoa(port)+"/audit", "", cp.CA.CertPEM, token); err != nil {
		return "", err
	}
	cp.guardPort = port
	return file, nil
}

// WriteAuditWebhookConfig writes the kubeconfig of the API server's audit webhook backend
// (--audit-webhook-config-file): the server URL, the name its certificate must carry when that is not the URL's
// host (serverName, the kubeconfig's tls-server-name: a Service's DNS name reached through a loopback address),
// the CA bundle that verifies it, and the bearer token the API server presents.
func WriteAuditWebhookConfig(file, server, serverName string, caPEM []byte, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["vnfguard"] = &clientcmdapi.Cluster{Server: server, TLSServerName: serverName, CertificateAuthorityData: caPEM}
	cfg.AuthInfos["kube-apiserver"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["audit"] = &clientcmdapi.Context{Cluster: "vnfguard", AuthInfo: "kube-apiserver"}
	cfg.CurrentContext = "audit"
	if err := clientcmd.WriteToFile(*cfg, file); err != nil {
		return fmt.Errorf("lab: write %s: %w", file, err)
	}
	return nil
}
