package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/vnfguard/vnfguard/internal/posture/auditpolicy"
)

// The identities the API server authenticates (by bearer token).
const (
	// Admin is in system:masters: the lab's own set-up traffic.
	Admin = "admin"
	// VNFM is the VNF manager's service identity (OpenStack Tacker's), in group GroupVNFM.
	VNFM = "tacker-vnfm"
	// Attacker is a user with stolen cluster-admin rights.
	Attacker = "mallory"
	// OpsAdmin is a plain cluster administrator who is not a break-glass identity.
	OpsAdmin = "ops-admin"
	// BreakGlass is the on-call engineer in GroupBreakGlass.
	BreakGlass = "oncall"
	// ControllerManager and Scheduler are the identities of kube-controller-manager and kube-scheduler; both are
	// in system:masters, so that no per-controller RBAC set-up is needed.
	ControllerManager = "system:kube-controller-manager"
	Scheduler         = "system:kube-scheduler"
	// KWOK is the identity of kwok, the node simulator.
	KWOK = "kwok"
)

// The groups the lab's identities are in.
const (
	GroupVNFM       = "vnfm"
	GroupBreakGlass = "vnfguard:break-glass"
)

// NodeName is the simulated node kwok manages.
const NodeName = "kwok-node-0"

// identity is one line of the API server's --token-auth-file.
type identity struct {
	name   string
	groups []string
	// clusterAdmin gives the identity a ClusterRoleBinding to cluster-admin.
	clusterAdmin bool
}

var identities = []identity{
	{name: Admin, groups: []string{"system:masters"}},
	{name: VNFM, groups: []string{GroupVNFM}, clusterAdmin: true},
	{name: Attacker, clusterAdmin: true},
	{name: OpsAdmin, clusterAdmin: true},
	{name: BreakGlass, groups: []string{GroupBreakGlass}, clusterAdmin: true},
	{name: ControllerManager, groups: []string{"system:masters"}},
	{name: Scheduler, groups: []string{"system:masters"}},
	{name: KWOK, groups: []string{"system:masters"}},
	// The scanner holds only ClusterRole vnfguard-scanner (see installVNFGuardRBAC).
	{name: Scanner},
}

// Identities lists the names of every identity the lab's API server knows.
func Identities() []string {
	out := make([]string, len(identities))
	for i, id := range identities {
		out[i] = id.name
	}
	return out
}

// Options configures Start.
type Options struct {
	// BinDir holds etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (the output of
	// hack/build-controlplane.sh).
	BinDir string
	// WorkDir receives data, certificates, kubeconfigs and one log file per process. Empty: a new temporary
	// directory. Start creates it if needed.
	WorkDir string
	// Logger receives progress lines; nil discards them.
	Logger *slog.Logger
	// AuditWebhookConfigFile, when set, is passed to the API server as --audit-webhook-config-file (batch mode),
	// so that an audit receiver gets every event in addition to the audit log file.
	AuditWebhookConfigFile string
	// AuditToVNFGuard points the API server's audit webhook backend at the vnfguard that StartVNFGuard will start
	// (https://127.0.0.1:PORT/audit, with a bearer token and the lab CA): the port is reserved before the API server
	// starts, and the API server's batch backend retries until vnfguard answers. It overrides AuditWebhookConfigFile.
	AuditToVNFGuard bool
	// ExtraAPIServerArgs are appended to the API server's command line.
	ExtraAPIServerArgs []string
	// APIServerOnly starts etcd and kube-apiserver only: no controllers, no scheduler, no simulated node. Pods
	// are then never created from workloads nor scheduled; the benchmark uses this to measure admission alone.
	APIServerOnly bool
	// RealNode adds a real node (node.go): an in-process image registry with the lab's images, containerd, a pod
	// bridge and a kubelet registered as RealNodeName. The API server then also authenticates client certificates of
	// the lab CA, authorizes with Node,RBAC, reaches the kubelet with its own client certificate (exec, logs), and
	// dials Services' endpoints itself (--enable-aggregator-routing). Needs root and hack/node-deps.sh's packages.
	RealNode bool
	// StartTimeout bounds each component's wait for readiness (default 90 s).
	StartTimeout time.Duration
	// LeastPrivilegeVNFM gives the VNFM identity (tacker-vnfm) no cluster-admin: it reads namespaces and holds
	// VNFMRole in the namespaces GrantVNFM names, as an operator registers a real Tacker's Kubernetes VIM.
	LeastPrivilegeVNFM bool
	// AdmissionPolicies also grants vnfguard's ServiceAccount install.AdmissionPoliciesRole, for a vnfguard with
	// admission.mode policies or both.
	AdmissionPolicies bool
}

// ControlPlane is a running local control plane.
type ControlPlane struct {
	// WorkDir is where everything the control plane writes lives.
	WorkDir string
	// BinDir is where its binaries came from.
	BinDir string
	// URL is the API server's address, https://127.0.0.1:PORT.
	URL string
	// CA signed the API server's serving certificate (and vnfguard's).
	CA *CA
	// CAFile is the CA certificate in PEM.
	CAFile string
	// AuditLogFile is the API server's audit log.
	AuditLogFile string

	logger  *slog.Logger
	etcdURL string
	// guardPort and auditTokenFile are set when the audit webhook goes to vnfguard (Options.AuditToVNFGuard).
	guardPort      int
	auditTokenFile string
	saKeyFile      string
	tokens         map[string]string
	kubeconfigs    map[string]string
	clients        map[string]*kubernetes.Clientset
	configs        map[string]*rest.Config

	mu      sync.Mutex
	etcd    *process
	api     *process
	clientP []*process // kcm, scheduler, kwok: stopped first
	node    *Node      // Options.RealNode
	// nodeLock holds the machine's real-node lock (lockNode) until Stop.
	nodeLock *os.File
	guards   []*Guard
	// docker is the Docker Engine on the real node (StartDockerEngine); agents the node agents (StartNodeAgent).
	docker  *DockerEngine
	agents  []*NodeAgent
	stopped bool
}

// MissingBinariesError says which control-plane binaries are absent and how to build them.
type MissingBinariesError struct {
	Dir     string
	Missing []string
}

func (e *MissingBinariesError) Error() string {
	return fmt.Sprintf("control-plane binaries missing in %s: %s; run `make controlplane` (or `bash hack/build-controlplane.sh`) to build them",
		e.Dir, strings.Join(e.Missing, ", "))
}

// CheckBinaries reports a *MissingBinariesError when dir lacks any of the binaries the lab needs.
func CheckBinaries(dir string, apiServerOnly bool) error {
	names := []string{"etcd", "kube-apiserver"}
	if !apiServerOnly {
		names = append(names, "kube-controller-manager", "kube-scheduler", "kwok")
	}
	return checkBinaries(dir, names)
}

// CheckNodeBinaries is CheckBinaries for a lab with a real node: the control plane's binaries and the kubelet.
func CheckNodeBinaries(dir string) error {
	return checkBinaries(dir, []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubelet"})
}

func checkBinaries(dir string, names []string) error {
	var missing []string
	for _, n := range names {
		if st, err := os.Stat(filepath.Join(dir, n)); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return &MissingBinariesError{Dir: dir, Missing: missing}
	}
	return nil
}

// Start starts the control plane and returns once the API server is ready, the RBAC bindings exist and (unless
// APIServerOnly) the simulated node is Ready. On error everything already started is stopped again.
func Start(ctx context.Context, opts Options) (cp *ControlPlane, err error) {
	if opts.BinDir == "" {
		return nil, errors.New("lab: Options.BinDir is empty: give the directory hack/build-controlplane.sh printed")
	}
	check := CheckBinaries(opts.BinDir, opts.APIServerOnly)
	if opts.RealNode {
		if opts.APIServerOnly {
			return nil, errors.New("lab: Options.RealNode needs the controllers: it cannot go with APIServerOnly")
		}
		check = CheckNodeBinaries(opts.BinDir)
	}
	if err := check; err != nil {
		return nil, err
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 90 * time.Second
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	workDir := opts.WorkDir
	if workDir == "" {
		if workDir, err = os.MkdirTemp("", "vnfguard-lab-"); err != nil {
			return nil, fmt.Errorf("lab: create work dir: %w", err)
		}
	} else if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, fmt.Errorf("lab: create work dir %s: %w", workDir, err)
	}
	if workDir, err = filepath.Abs(workDir); err != nil {
		return nil, fmt.Errorf("lab: work dir: %w", err)
	}
	cp = &ControlPlane{
		WorkDir: workDir, BinDir: opts.BinDir, logger: logger,
		tokens: map[string]string{}, kubeconfigs: map[string]string{},
		clients: map[string]*kubernetes.Clientset{}, configs: map[string]*rest.Config{},
	}
	defer func() {
		if err != nil {
			cp.Stop()
			cp = nil
		}
	}()
	started := time.Now()

	if opts.RealNode {
		if cp.nodeLock, err = lockNode(ctx, opts.BinDir, logger); err != nil {
			return cp, err
		}
		n := &Node{Name: RealNodeName, Dir: filepath.Join(workDir, "node")}
		if n.PodCIDR, n.Gateway, err = pickPodNetwork(); err != nil {
			return cp, err
		}
		cp.node = n
	}
	if err := cp.startEtcd(ctx, opts); err != nil {
		return cp, err
	}
	if err := cp.startAPIServer(ctx, opts); err != nil {
		return cp, err
	}
	if err := cp.bindRoles(ctx, opts); err != nil {
		return cp, err
	}
	if opts.AdmissionPolicies {
		if err := cp.installParamsCRD(ctx); err != nil {
			return cp, err
		}
	}
	if err := cp.installVNFGuardRBAC(ctx, opts.AdmissionPolicies); err != nil {
		return cp, err
	}
	if !opts.APIServerOnly {
		if err := cp.startControllers(ctx, opts); err != nil {
			return cp, err
		}
	}
	if opts.RealNode {
		if err := cp.bindKubeletClient(ctx); err != nil {
			return cp, err
		}
		if err := cp.startNode(ctx, opts); err != nil {
			return cp, err
		}
	}
	logger.Info("control plane ready", "url", cp.URL, "workDir", workDir, "seconds", time.Since(started).Seconds())
	return cp, nil
}

func (cp *ControlPlane) startEtcd(ctx context.Context, opts Options) error {
	// Two ports at once: two freePort calls in a row may return the same port (the first listener is closed
	// before the second asks), and etcd then fails to bind its peer URL (seen in CI).
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	client, peer := ports[0], ports[1]
	clientURL := "http://127.0.0.1:" + strconv.Itoa(client)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peer)
	args := []string{
		"--name", "lab",
		"--data-dir", filepath.Join(cp.WorkDir, "etcd-data"),
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "lab=" + peerURL,
		// The lab's data is thrown away; fsync only slows the tests down.
		"--unsafe-no-fsync",
		"--log-level", "warn",
	}
	p, err := cp.launch("etcd", args)
	if err != nil {
		return err
	}
	cp.etcd = p
	hc := &http.Client{Timeout: 2 * time.Second}
	err = waitFor(ctx, opts.StartTimeout, p, "etcd /health", func(ctx context.Context) (bool, error) {
		resp, err := hc.Get(clientURL + "/health")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return err
	}
	cp.etcdURL = clientURL
	cp.logger.Info("etcd ready", "url", clientURL)
	return nil
}

func (cp *ControlPlane) startAPIServer(ctx context.Context, opts Options) error {
	dir := filepath.Join(cp.WorkDir, "pki")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("lab: create %s: %w", dir, err)
	}
	ca, err := NewCA("vnfguard-lab-ca")
	if err != nil {
		return err
	}
	cp.CA = ca
	cp.CAFile = filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(cp.CAFile, ca.CertPEM, 0o600); err != nil {
		return fmt.Errorf("lab: write %s: %w", cp.CAFile, err)
	}
	// The names a pod's in-cluster client verifies are its Service's; with a real node the API server is also
	// reached from pods at the gateway (ExposeToPods), so its certificate names that address too.
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(10, 96, 0, 1)}
	if cp.node != nil {
		ips = append(ips, cp.node.Gateway)
	}
	certPEM, keyPEM, err := ca.IssueServing("kube-apiserver",
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}, ips)
	if err != nil {
		return err
	}
	certFile, keyFile, err := writePair(dir, "kube-apiserver", certPEM, keyPEM)
	if err != nil {
		return err
	}
	saPub, saKey, err := writeServiceAccountKeys(dir)
	if err != nil {
		return err
	}
	cp.saKeyFile = saKey
	tokenFile, err := cp.writeTokens(dir)
	if err != nil {
		return err
	}
	auditPolicy := filepath.Join(cp.WorkDir, "audit-policy.yaml")
	if err := os.WriteFile(auditPolicy, auditpolicy.Recommended(), 0o600); err != nil {
		return fmt.Errorf("lab: write %s: %w", auditPolicy, err)
	}
	cp.AuditLogFile = filepath.Join(cp.WorkDir, "audit.log")
	port, err := freePort()
	if err != nil {
		return err
	}
	cp.URL = "https://127.0.0.1:" + strconv.Itoa(port)
	authorizationMode := "RBAC"
	if opts.RealNode {
		// The Node authorizer gives the kubelet (system:node:NAME) exactly its node's objects.
		authorizationMode = "Node,RBAC"
	}
	args := []string{
		"--etcd-servers", cp.etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", strconv.Itoa(port),
		// Without it the API server tries to own the kubernetes Service's endpoints with a loopback address.
		"--endpoint-reconciler-type", "none",
		"--tls-cert-file", certFile, "--tls-private-key-file", keyFile,
		"--token-auth-file", tokenFile,
		"--authorization-mode", authorizationMode,
		"--service-account-key-file", saPub, "--service-account-signing-key-file", saKey,
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range", "10.96.0.0/16",
		// Privileged pods are otherwise refused before any webhook sees them.
		"--allow-privileged=true",
		"--audit-policy-file", auditPolicy, "--audit-log-path", cp.AuditLogFile,
		"--audit-log-maxsize", "100", "--audit-log-maxbackup", "1",
		"--profiling=false",
		// Without it the API server's HTTP shutdown waits 60 s for the open watches of clients that outlive it
		// (vnfguard's informers); with it, it ends them and exits in about a second.
		"--shutdown-watch-termination-grace-period=2s",
		"--v", "1",
	}
	if opts.RealNode {
		nodeArgs, err := cp.realNodeAPIServerArgs(dir)
		if err != nil {
			return err
		}
		args = append(args, nodeArgs...)
	}
	if opts.AuditToVNFGuard {
		if opts.AuditWebhookConfigFile, err = cp.writeAuditWebhookConfig(); err != nil {
			return err
		}
	}
	if opts.AuditWebhookConfigFile != "" {
		args = append(args, "--audit-webhook-config-file", opts.AuditWebhookConfigFile, "--audit-webhook-mode", "batch",
			"--audit-webhook-batch-max-wait", "1s")
	}
	args = append(args, opts.ExtraAPIServerArgs...)
	p, err := cp.launch("kube-apiserver", args)
	if err != nil {
		return err
	}
	cp.api = p
	for _, id := range identities {
		if err := cp.addIdentity(id.name); err != nil {
			return err
		}
	}
	if err := cp.addIdentity(""); err != nil { // the anonymous client handed out for unknown names
		return err
	}
	admin := cp.clients[Admin]
	err = waitFor(ctx, opts.StartTimeout, p, "kube-apiserver /readyz", func(ctx context.Context) (bool, error) {
		body, err := admin.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && strings.TrimSpace(string(body)) == "ok", nil
	})
	if err != nil {
		return err
	}
	cp.logger.Info("kube-apiserver ready", "url", cp.URL)
	return nil
}

// writeTokens writes the --token-auth-file: token,user,uid,"group1,group2".
func (cp *ControlPlane) writeTokens(dir string) (string, error) {
	var b strings.Builder
	for i, id := range identities {
		token, err := randomToken()
		if err != nil {
			return "", err
		}
		cp.tokens[id.name] = token
		fmt.Fprintf(&b, "%s,%s,uid-%d", token, id.name, i+1)
		if len(id.groups) > 0 {
			fmt.Fprintf(&b, ",\"%s\"", strings.Join(id.groups, ","))
		}
		b.WriteByte('\n')
	}
	file := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("lab: write %s: %w", file, err)
	}
	return file, nil
}

// addIdentity builds the rest.Config, clientset and kubeconfig file of one identity ("" is anonymous).
func (cp *ControlPlane) addIdentity(name string) error {
	cfg := &rest.Config{
		Host:            cp.URL,
		BearerToken:     cp.tokens[name],
		TLSClientConfig: rest.TLSClientConfig{CAData: cp.CA.CertPEM},
		// The scenarios and the benchmark issue bursts of requests; client-side throttling would only blur them.
		QPS: 200, Burst: 400,
		UserAgent: "vnfguard-lab/" + nameOrAnonymous(name),
		// Warnings (vnfguard returns the profile exceptions it applied) go to the lab's log, not to klog on stderr.
		WarningHandlerWithContext: warningLogger{logger: cp.logger, identity: nameOrAnonymous(name)},
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("lab: client for %s: %w", nameOrAnonymous(name), err)
	}
	cp.clients[name], cp.configs[name] = cs, cfg
	if name == "" {
		return nil
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["lab"] = &clientcmdapi.Cluster{Server: cp.URL, CertificateAuthorityData: cp.CA.CertPEM}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: cp.tokens[name]}
	kc.Contexts["lab"] = &clientcmdapi.Context{Cluster: "lab", AuthInfo: name}
	kc.CurrentContext = "lab"
	file := filepath.Join(cp.WorkDir, "kubeconfig-"+fileSafe(name))
	if err := clientcmd.WriteToFile(*kc, file); err != nil {
		return fmt.Errorf("lab: write kubeconfig of %s: %w", name, err)
	}
	cp.kubeconfigs[name] = file
	return nil
}

// bindRoles gives the human identities and the VNFM cluster-admin, so that RBAC never denies what a scenario does:
// every denial must come from vnfguard.
func (cp *ControlPlane) bindRoles(ctx context.Context, opts Options) error {
	admin := cp.clients[Admin]
	if opts.LeastPrivilegeVNFM {
		if err := cp.installVNFMRole(ctx); err != nil {
			return err
		}
	}
	for _, id := range identities {
		if !id.clusterAdmin || (id.name == VNFM && opts.LeastPrivilegeVNFM) {
			continue
		}
		crb := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "lab-cluster-admin-" + fileSafe(id.name)},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: id.name}},
		}
		if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("lab: bind %s to cluster-admin: %w", id.name, err)
		}
	}
	return nil
}

func (cp *ControlPlane) startControllers(ctx context.Context, opts Options) error {
	kcmArgs := []string{
		"--kubeconfig", cp.kubeconfigs[ControllerManager],
		// Without --use-service-account-credentials every controller acts as system:kube-controller-manager,
		// which is what vnfguard's default controller identities expect.
		"--use-service-account-credentials=false",
		"--leader-elect=false",
		"--secure-port=0", // no serving port: nothing to collide with other runs
		"--service-account-private-key-file", cp.saKeyFile,
		"--root-ca-file", cp.CAFile,
		"--controllers", "*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route",
		"--v", "1",
	}
	p, err := cp.launch("kube-controller-manager", kcmArgs)
	if err != nil {
		return err
	}
	cp.clientP = append(cp.clientP, p)
	p, err = cp.launch("kube-scheduler", []string{
		"--kubeconfig", cp.kubeconfigs[Scheduler], "--leader-elect=false", "--secure-port=0", "--v", "1",
	})
	if err != nil {
		return err
	}
	cp.clientP = append(cp.clientP, p)
	kwokConfig := filepath.Join(cp.WorkDir, "kwok.yaml")
	if err := os.WriteFile(kwokConfig, []byte(kwokConfigYAML), 0o644); err != nil {
		return fmt.Errorf("lab: write %s: %w", kwokConfig, err)
	}
	p, err = cp.launch("kwok", []string{
		"--kubeconfig", cp.kubeconfigs[KWOK],
		"--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake",
		// The address the simulated node reports: loopback, so that nothing ever dials out of the machine.
		"--node-ip", "127.0.0.1",
		// Our own file, so that a ~/.kwok/kwok.yaml on the machine changes nothing. It holds no stages: kwok
		// v0.7.0 then uses its built-in ones (node and pod "fast"). Never configure ClusterExec: it would run
		// exec'd commands on this host.
		"--config", kwokConfig,
		// Node leases: without them the node-lifecycle controller marks the node NotReady every ~50 s and its
		// pods Ready=False, and a VNFM waiting for a Deployment to be ready (Tacker) times out.
		"--node-lease-duration-seconds", "40",
	})
	if err != nil {
		return err
	}
	cp.clientP = append(cp.clientP, p)

	admin := cp.clients[Admin]
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        NodeName,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels:      map[string]string{"type": "kwok", "kubernetes.io/hostname": NodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"},
		},
		Status: corev1.NodeStatus{
			Capacity:    nodeResources(),
			Allocatable: nodeResources(),
		},
	}
	if _, err := admin.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("lab: create node %s: %w", NodeName, err)
	}
	err = waitFor(ctx, opts.StartTimeout, p, "node "+NodeName+" Ready (kwok)", func(ctx context.Context) (bool, error) {
		n, err := admin.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	cp.logger.Info("controllers, scheduler and kwok node ready", "node", NodeName)
	return nil
}

// warningLogger logs the warnings the API server returns (admission webhooks' warnings among them).
type warningLogger struct {
	logger   *slog.Logger
	identity string
}

func (w warningLogger) HandleWarningHeaderWithContext(ctx context.Context, code int, agent, text string) {
	if code == 299 && text != "" {
		w.logger.Info("API server warning", "identity", w.identity, "warning", text)
	}
}

func nodeResources() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("512Gi"),
		corev1.ResourcePods:   resource.MustParse("10000"),
	}
}

// ClientFor returns a clientset and its rest.Config acting as the named identity (one of the Identity
// constants). An unknown name gets an anonymous client, which the API server refuses almost everything.
func (cp *ControlPlane) ClientFor(name string) (*kubernetes.Clientset, *rest.Config) {
	if _, ok := cp.clients[name]; !ok {
		name = ""
	}
	return cp.clients[name], rest.CopyConfig(cp.configs[name])
}

// Kubeconfig returns the path of the named identity's kubeconfig file ("" for an unknown name).
func (cp *ControlPlane) Kubeconfig(name string) string { return cp.kubeconfigs[name] }

// EnsureNamespace creates a namespace with the given labels (updating the labels of an existing one) and its
// default ServiceAccount; a namespace labelled protected also gets vnfguard's RoleBinding for its Secrets and
// ConfigMaps. Creating the ServiceAccount here means pods can be created at once: kcm's
// ServiceAccount controller creates it too, but a moment later (measured: 7 to 280 ms after the namespace), and
// the ServiceAccount admission plugin refuses pods until it exists; with APIServerOnly nobody else creates it.
func (cp *ControlPlane) EnsureNamespace(ctx context.Context, name string, labels map[string]string) error {
	admin := cp.clients[Admin]
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := admin.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("lab: create namespace %s: %w", name, err)
		}
		cur, err := admin.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("lab: get namespace %s: %w", name, err)
		}
		if cur.Labels == nil {
			cur.Labels = map[string]string{}
		}
		for k, v := range labels {
			cur.Labels[k] = v
		}
		if _, err := admin.CoreV1().Namespaces().Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("lab: label namespace %s: %w", name, err)
		}
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: name}}
	if _, err := admin.CoreV1().ServiceAccounts(name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("lab: create default ServiceAccount in %s: %w", name, err)
	}
	if labels[protectedLabel] == protectedLabels[protectedLabel] {
		// Protected by label: vnfguard reads its Secrets and ConfigMaps only through a RoleBinding there.
		return cp.grantNamespaceData(ctx, name)
	}
	return nil
}

// Stop stops everything in an order that never hangs: the API server's clients (kwok, scheduler, controller
// manager), then the real node (Options.RealNode: its pods, kubelet, containerd, registry, and what they left on the
// machine), then the API server — before any audit receiver, or its buffered audit backend waits ~30 s —, then
// vnfguard processes started with StartVNFGuard, then etcd. It waits for each process to exit. Safe to call twice.
func (cp *ControlPlane) Stop() {
	cp.mu.Lock()
	if cp.stopped {
		cp.mu.Unlock()
		return
	}
	cp.stopped = true
	guards, agents := cp.guards, cp.agents
	cp.mu.Unlock()
	for _, a := range agents {
		a.Stop()
	}
	for i := len(cp.clientP) - 1; i >= 0; i-- {
		cp.clientP[i].stop(10 * time.Second)
	}
	// The real node after the controllers (which would replace the pods it deletes) and before the API server,
	// through which it tells the kubelet to tear its pods down.
	if cp.node != nil {
		cp.node.stop(cp)
	}
	if cp.api != nil {
		cp.api.stop(30 * time.Second)
	}
	for _, g := range guards {
		g.Stop()
	}
	if cp.etcd != nil {
		cp.etcd.stop(15 * time.Second)
	}
	if cp.nodeLock != nil {
		_ = cp.nodeLock.Close() // releases the flock: the next real node may start
	}
	cp.logger.Info("control plane stopped", "workDir", cp.WorkDir)
}

// waitFor polls cond every 200 ms until it is true, the timeout passes, or the process p exits (whose log then
// explains why).
func waitFor(ctx context.Context, timeout time.Duration, p *process, what string, cond func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		if p != nil && p.exited() {
			return false, fmt.Errorf("%s exited: %s", p.name, p.exitError())
		}
		return cond(ctx)
	})
	if err != nil {
		where := ""
		if p != nil {
			where = "; see " + p.logFile + ":\n" + p.tail(15)
		}
		return fmt.Errorf("lab: waiting for %s: %w%s", what, err, where)
	}
	return nil
}

// FreePorts returns n distinct free loopback ports, for a process a test starts beside the lab's (Prometheus).
func FreePorts(n int) ([]int, error) { return freePorts(n) }

// freePorts returns n distinct free loopback ports, holding each open until all are chosen.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("lab: find a free loopback port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// freePort asks the kernel for a free loopback port. Another process may take it before we bind it; the start
// then fails with a clear "address already in use" in the component's log.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("lab: find a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("lab: random token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func fileSafe(name string) string { return strings.NewReplacer(":", "-", "/", "-").Replace(name) }

func nameOrAnonymous(name string) string {
	if name == "" {
		return "anonymous"
	}
	return name
}

const kwokConfigYAML = `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  nodeIP: 127.0.0.1
`
