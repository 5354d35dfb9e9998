package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// RealNodeName is the name the real node registers under. The kubelet listens on the pod bridge's Gateway, which it
// reports as the node's InternalIP (--node-ip) and where the API server dials it, as in a cluster: a loopback
// address would do for exec and logs, but the API server refuses to proxy nodes/proxy requests to one ("address not
// allowed"), and the attacks through the kubelet's proxy must be real here.
const RealNodeName = "localhost"

// RealNodeTaint is the key of the real node's NoSchedule taint: a pod the scheduler places there tolerates it (the
// Helm chart's pods in the lab); one bound by spec.nodeName needs nothing.
const RealNodeTaint = "lab.vnfguard.io/real-node"

// PodBridge is the Linux bridge of the real node's pod network (CNI bridge plugin). Only one lab node runs per
// machine (the kubelet's device-plugin socket path is fixed), so a fixed name is enough; a bridge of this name
// left behind by a killed run is removed at start.
const PodBridge = "vnfglab0"

// The kubelet's API client identity and the API server's identity towards the kubelet.
const (
	kubeletUser          = "system:node:" + RealNodeName
	apiServerKubeletUser = "kube-apiserver-kubelet-client"
)

// hostPaths are the paths outside WorkDir that the kubelet, containerd and the CNI plugins create whatever they are
// configured with: the kubelet's device-plugin directory (/var/lib/kubelet/device-plugins), its container log
// symlinks, libcni's result cache, containerd's shim socket directory, libmount's utab (the kubelet runs mount(8)).
// Stop removes each one that did not exist
// before the node started.
var hostPaths = []string{"/var/lib/kubelet", "/var/log/containers", "/var/lib/cni", "/var/run/netns", "/run/containerd", "/run/mount"}

// kernelTunables are the sysctls the kubelet sets when they differ from what it wants (protectKernelDefaults false;
// true would make it refuse to start instead). They are not namespaced, so Stop writes back the values from before.
var kernelTunables = []string{"/proc/sys/vm/overcommit_memory", "/proc/sys/kernel/panic", "/proc/sys/kernel/panic_on_oops"}

// cgroupRoots are the cgroups the kubelet (cgroupfs driver) creates in every v1 hierarchy.
var cgroupRoots = []string{"kubepods"}

// Node is the lab's real node: containerd (Debian's, with runc), the CNI bridge plugin, and a kubelet built
// from the module proxy, all configured to keep their state under WorkDir/node.
type Node struct {
	// Name is the node's name (RealNodeName).
	Name string
	// Images are the lab's images in the loopback registry.
	Images Images
	// PodCIDR is the pod network (a free /24 in 10.213.0.0/16); Gateway is the host's address on it.
	PodCIDR *net.IPNet
	Gateway net.IP
	// Dir holds the node's configuration, state and logs.
	Dir string

	registry *imageRegistry
	// kubeletPort is the kubelet API's port on Gateway.
	kubeletPort int
	containerd  *process
	kubelet     *process
	bridge      bool
	// made are host paths and cgroups that did not exist before the node started.
	made []string
	// forwarders relay pods' connections to host services (ExposeToPods).
	mu         sync.Mutex
	forwarders []*forwarder
	// tunables are the values of kernelTunables before the node started.
	tunables map[string]string
}

// lockNode waits for, and takes, the machine's real-node lock: an exclusive flock on binDir (the control-plane
// binaries' directory, which every run shares and which no run writes), so that real-node tests in different
// packages (go test runs packages in parallel) take turns — only one kubelet, bridge and device-plugin socket per
// machine. The lock goes with the returned file (closing it releases it), or with the process if it dies.
func lockNode(ctx context.Context, binDir string, logger *slog.Logger) (*os.File, error) {
	f, err := os.Open(binDir)
	if err != nil {
		return nil, fmt.Errorf("lab: real-node lock: %w", err)
	}
	waited := time.Now()
	for logged := false; ; {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			if logged {
				logger.Info("real-node lock taken", "waitedSeconds", time.Since(waited).Seconds())
			}
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("lab: real-node lock on %s: %w", binDir, err)
		}
		if !logged {
			logger.Info("another real node runs on this machine: waiting for it to stop", "lock", binDir)
			logged = true
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("lab: waited %s for the real-node lock on %s (another lab's real node runs): %w", time.Since(waited).Round(time.Second), binDir, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// startNode starts the registry (with the images), the pod bridge, containerd and the kubelet, and waits for the
// node to be Ready.
func (cp *ControlPlane) startNode(ctx context.Context, opts Options) (err error) {
	for _, bin := range []string{"containerd", "containerd-shim-runc-v2", "runc", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("lab: the real node needs %s (install Debian's packages: bash hack/node-deps.sh): %w", bin, err)
		}
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		return fmt.Errorf("lab: the real node needs the CNI plugins in /usr/lib/cni (bash hack/node-deps.sh): %w", err)
	}
	started := time.Now()
	n := cp.node // made by Start, with the pod network it picked before the API server started
	for _, d := range []string{"ctrd", "cni/net.d", "cni/ipam", "kubelet", "pod-logs", "volume-plugins", "images"} {
		if err := os.MkdirAll(filepath.Join(n.Dir, d), 0o755); err != nil {
			return fmt.Errorf("lab: create %s: %w", d, err)
		}
	}
	n.tunables = map[string]string{}
	for _, p := range kernelTunables {
		if v, err := os.ReadFile(p); err == nil {
			n.tunables[p] = string(v)
		}
	}
	for _, p := range hostPaths {
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			n.made = append(n.made, p)
		}
	}
	for _, h := range cgroupHierarchies() {
		for _, root := range cgroupRoots {
			if p := filepath.Join(h, root); !exists(p) {
				n.made = append(n.made, p)
			}
		}
	}

	if n.registry, err = startRegistry(filepath.Join(cp.WorkDir, "registry.log")); err != nil {
		return err
	}
	if n.Images, err = buildImages(ctx, n.registry.host, filepath.Join(n.Dir, "images")); err != nil {
		return err
	}
	if err := n.makeBridge(); err != nil {
		return err
	}
	if err := n.writeCNIConfig(); err != nil {
		return err
	}
	if err := cp.startContainerd(ctx, opts, n); err != nil {
		return err
	}
	if err := cp.startKubelet(ctx, opts, n); err != nil {
		return err
	}
	cp.logger.Info("real node ready", "node", n.Name, "podCIDR", n.PodCIDR.String(), "seconds", time.Since(started).Seconds())
	return nil
}

// Registry is the HOST:PORT of the lab's loopback image registry, where the node's containerd pulls from; push
// more images there (ociimage.Push) to run them on the node.
func (n *Node) Registry() string { return n.registry.host }

// RealNode returns the real node (Options.RealNode), nil without one.
func (cp *ControlPlane) RealNode() *Node { return cp.node }

// pickPodNetwork picks a /24 in 10.213.0.0/16 that no interface of the machine is on. It runs before the API server
// starts, whose serving certificate then also names the gateway (the host's address on the pod network), so that
// pods can reach the API server there (ExposeToPods).
func pickPodNetwork() (cidr *net.IPNet, gateway net.IP, err error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, nil, fmt.Errorf("lab: list the machine's addresses: %w", err)
	}
	for third := 0; third < 256; third++ {
		_, c, _ := net.ParseCIDR("10.213." + strconv.Itoa(third) + ".0/24")
		free := true
		for _, a := range addrs {
			if in, ok := a.(*net.IPNet); ok && (c.Contains(in.IP) || in.Contains(c.IP)) {
				free = false
			}
		}
		if free {
			return c, net.IPv4(c.IP[0], c.IP[1], c.IP[2], 1).To4(), nil
		}
	}
	return nil, nil, fmt.Errorf("lab: no free /24 in 10.213.0.0/16 for the pod network")
}

// makeBridge creates the pod bridge with the host's address (Gateway) on it, removing one a killed run left. The CNI
// bridge plugin then only attaches pods (isGateway false, no routes): pods reach the host and each other on this
// /24 and nothing else, and the plugin changes no sysctl.
func (n *Node) makeBridge() error {
	if _, err := net.InterfaceByName(PodBridge); err == nil {
		// Left behind by a run that was killed before it could clean up.
		if out, err := exec.Command("ip", "link", "del", PodBridge).CombinedOutput(); err != nil {
			return fmt.Errorf("lab: remove the stale pod bridge %s: %w: %s", PodBridge, err, out)
		}
	}
	for _, args := range [][]string{
		{"link", "add", PodBridge, "type", "bridge"},
		{"addr", "add", n.Gateway.String() + "/24", "dev", PodBridge},
		{"link", "set", PodBridge, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("lab: ip %s: %w: %s", strings.Join(args, " "), err, out)
		}
		n.bridge = true
	}
	return nil
}

func (n *Node) writeCNIConfig() error {
	conf := `{
  "cniVersion": "0.4.0",
  "name": "vnfguard-lab",
  "plugins": [{
    "type": "bridge", "bridge": "` + PodBridge + `", "isGateway": false, "ipMasq": false, "hairpinMode": true,
    "ipam": {"type": "host-local", "ranges": [[{"subnet": "` + n.PodCIDR.String() + `", "gateway": "` + n.Gateway.String() + `"}]],
             "dataDir": "` + filepath.Join(n.Dir, "cni", "ipam") + `"}
  }]
}
`
	file := filepath.Join(n.Dir, "cni", "net.d", "10-vnfguard-lab.conflist")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		return fmt.Errorf("lab: write %s: %w", file, err)
	}
	return nil
}

func (n *Node) socket() string { return filepath.Join(n.Dir, "ctrd", "c.sock") }

// ContainerdSocket is the path of the node's containerd socket (for ctr --address, or containerd's Go client).
func (n *Node) ContainerdSocket() string { return n.socket() }

// startContainerd writes containerd's configuration (root, state, socket, runc state and plugin directory under
// the node's directory; the loopback registry over plain HTTP) and starts it.
func (cp *ControlPlane) startContainerd(ctx context.Context, opts Options, n *Node) error {
	c := filepath.Join(n.Dir, "ctrd")
	hostsDir := filepath.Join(c, "certs.d", n.registry.host)
	if err := os.MkdirAll(hostsDir, 0o755); err != nil {
		return fmt.Errorf("lab: create %s: %w", hostsDir, err)
	}
	hosts := fmt.Sprintf("server = %q\n\n[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n  skip_verify = true\n",
		"http://"+n.registry.host, "http://"+n.registry.host)
	if err := os.WriteFile(filepath.Join(hostsDir, "hosts.toml"), []byte(hosts), 0o644); err != nil {
		return fmt.Errorf("lab: write hosts.toml: %w", err)
	}
	config := filepath.Join(c, "config.toml")
	if err := os.WriteFile(config, []byte(containerdConfig(c, n)), 0o644); err != nil {
		return fmt.Errorf("lab: write %s: %w", config, err)
	}
	p, err := startProcess("containerd", "containerd", []string{"--config", config}, filepath.Join(cp.WorkDir, "containerd.log"), nil)
	if err != nil {
		return err
	}
	n.containerd = p
	return waitFor(ctx, opts.StartTimeout, p, "containerd's socket", func(ctx context.Context) (bool, error) {
		conn, err := net.DialTimeout("unix", n.socket(), time.Second)
		if err != nil {
			return false, nil
		}
		conn.Close()
		return true, nil
	})
}

// containerdConfig is containerd 1.6's configuration for a kubelet in a container-like sandbox with cgroup v1 and
// without CAP_SYS_RESOURCE (facts from ../shared/node-lab).
func containerdConfig(dir string, n *Node) string {
	return `version = 2
root = "` + filepath.Join(dir, "root") + `"
state = "` + filepath.Join(dir, "state") + `"
oom_score = 0

[grpc]
  address = "` + n.socket() + `"
[ttrpc]
  address = ""
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  # default /opt/containerd
  path = "` + filepath.Join(dir, "opt") + `"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "` + n.Images.Pause + `"
  # the sandbox's oom_score_adj -998 cannot be set below ours without CAP_SYS_RESOURCE
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  tolerate_missing_hugetlb_controller = true
  max_container_log_line_size = 16384
  # pod network namespaces under the state directory instead of the shared /var/run/netns
  netns_mounts_under_state_dir = true

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        # default /run/containerd/runc/<namespace>, shared with any other containerd on the machine
        Root = "` + filepath.Join(dir, "runc") + `"

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "` + filepath.Join(n.Dir, "cni", "net.d") + `"
    max_conf_num = 1

  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "` + filepath.Join(dir, "certs.d") + `"
`
}

// startKubelet writes the kubelet's certificates, kubeconfig and configuration and starts it; it returns when the
// node is Ready.
func (cp *ControlPlane) startKubelet(ctx context.Context, opts Options, n *Node) error {
	pki := filepath.Join(n.Dir, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return fmt.Errorf("lab: create %s: %w", pki, err)
	}
	certPEM, keyPEM, err := cp.CA.IssueClient(kubeletUser, "system:nodes")
	if err != nil {
		return err
	}
	clientCert, clientKey, err := writePair(pki, "kubelet-client", certPEM, keyPEM)
	if err != nil {
		return err
	}
	if certPEM, keyPEM, err = cp.CA.IssueServing(kubeletUser, []string{RealNodeName}, []net.IP{n.Gateway}); err != nil {
		return err
	}
	servingCert, servingKey, err := writePair(pki, "kubelet", certPEM, keyPEM)
	if err != nil {
		return err
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["lab"] = &clientcmdapi.Cluster{Server: cp.URL, CertificateAuthority: cp.CAFile}
	kc.AuthInfos["kubelet"] = &clientcmdapi.AuthInfo{ClientCertificate: clientCert, ClientKey: clientKey}
	kc.Contexts["lab"] = &clientcmdapi.Context{Cluster: "lab", AuthInfo: "kubelet"}
	kc.CurrentContext = "lab"
	kubeconfig := filepath.Join(n.Dir, "kubelet.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, kubeconfig); err != nil {
		return fmt.Errorf("lab: write the kubelet's kubeconfig: %w", err)
	}
	ports, err := freePorts(2) // distinct: see startEtcd
	if err != nil {
		return err
	}
	port, healthz := ports[0], ports[1]
	config := filepath.Join(n.Dir, "kubelet-config.yaml")
	if err := os.WriteFile(config, []byte(kubeletConfig(n, cp.CAFile, servingCert, servingKey, port, healthz)), 0o644); err != nil {
		return fmt.Errorf("lab: write %s: %w", config, err)
	}
	p, err := cp.launch("kubelet", []string{
		"--config", config,
		"--kubeconfig", kubeconfig,
		"--root-dir", filepath.Join(n.Dir, "kubelet"),
		"--cert-dir", pki,
		"--hostname-override", n.Name,
		"--node-ip", n.Gateway.String(),
		"--v", "1",
	})
	if err != nil {
		return err
	}
	n.kubelet = p
	n.kubeletPort = port
	admin := cp.clients[Admin]
	return waitFor(ctx, opts.StartTimeout, p, "node "+n.Name+" Ready (kubelet)", func(ctx context.Context) (bool, error) {
		node, err := admin.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}

// kubeletConfig: the kubelet API on the pod bridge's gateway only (healthz on loopback), webhook authentication and authorization through the API
// server, x509 clients of the lab CA (the API server); every directory under the node's, no eviction (the disk and
// memory are shared with the machine), no iptables chains, cgroupfs on cgroup v1.
func kubeletConfig(n *Node, caFile, certFile, keyFile string, port, healthz int) string {
	return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ` + n.Gateway.String() + `
port: ` + strconv.Itoa(port) + `
healthzBindAddress: 127.0.0.1
healthzPort: ` + strconv.Itoa(healthz) + `
readOnlyPort: 0
tlsCertFile: ` + certFile + `
tlsPrivateKeyFile: ` + keyFile + `
containerRuntimeEndpoint: unix://` + n.socket() + `
imageServiceEndpoint: unix://` + n.socket() + `
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
localStorageCapacityIsolation: false
makeIPTablesUtilChains: false
podLogsDir: ` + filepath.Join(n.Dir, "pod-logs") + `
volumePluginDir: ` + filepath.Join(n.Dir, "volume-plugins") + `
staticPodPath: ""
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true, cacheTTL: 2m}
  x509: {clientCAFile: ` + caFile + `}
authorization:
  mode: Webhook
  webhook: {cacheAuthorizedTTL: 5m, cacheUnauthorizedTTL: 30s}
registerNode: true
# Only pods that ask for the real node run on it (spec.nodeName, or a toleration of this taint): the scheduler
# keeps the scenario's simulated VNFs, whose images exist nowhere, on the kwok node.
registerWithTaints: [{key: ` + RealNodeTaint + `, effect: NoSchedule}]
# A pod's ConfigMap volumes follow an update at its next sync: every 5 s rather than every minute, so that a test
# that changes an installed vnfguard's inventory ConfigMap waits seconds.
syncFrequency: 5s
# Room for a few minutes of a busy vnfguard's findings before the kubelet rotates a container's log.
containerLogMaxSize: 50Mi
serializeImagePulls: false
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
rotateCertificates: false
serverTLSBootstrap: false
evictionHard: {}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
`
}

// bindKubeletClient lets the API server's client certificate use the kubelet API (exec, logs, port-forward).
func (cp *ControlPlane) bindKubeletClient(ctx context.Context) error {
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "lab-apiserver-kubelet-client"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:kubelet-api-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: apiServerKubeletUser}},
	}
	if _, err := cp.clients[Admin].RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("lab: bind %s to system:kubelet-api-admin: %w", apiServerKubeletUser, err)
	}
	return nil
}

// stop deletes the node's pods through the API server (so that the kubelet tears down their containers and
// networks), stops the kubelet, removes any container left in containerd, stops containerd and the registry, and
// removes the mounts, cgroups, bridge and host paths the node made.
func (n *Node) stop(cp *ControlPlane) {
	if n.kubelet != nil && !n.kubelet.exited() && cp.api != nil && !cp.api.exited() {
		n.drain(cp)
	}
	n.kubelet.stop(15 * time.Second)
	cp.mu.Lock()
	docker := cp.docker
	cp.mu.Unlock()
	docker.stop() // its containers run on the node's containerd
	n.mu.Lock()
	for _, f := range n.forwarders {
		f.close()
	}
	n.forwarders = nil
	n.mu.Unlock()
	if n.containerd != nil && !n.containerd.exited() {
		n.removeContainers()
	}
	n.containerd.stop(15 * time.Second)
	// Shims whose containers could not be removed outlive containerd; they are the node's (their socket is under
	// its directory), so end them.
	for _, pid := range processesUsing(n.Dir) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	n.registry.stop()
	unmountUnder(cp.WorkDir)
	for i := len(n.made) - 1; i >= 0; i-- {
		p := n.made[i]
		if strings.HasPrefix(p, "/sys/fs/cgroup/") {
			removeCgroupTree(p)
		} else if p == "/run/mount" {
			// libmount's, shared with every mount(8) on the machine: only while empty.
			_ = os.Remove(p)
		} else if err := os.RemoveAll(p); err != nil {
			cp.logger.Warn("lab: remove a host path the node made", "path", p, "err", err)
		}
	}
	if n.bridge {
		if out, err := exec.Command("ip", "link", "del", PodBridge).CombinedOutput(); err != nil {
			cp.logger.Warn("lab: remove the pod bridge", "bridge", PodBridge, "err", err, "output", string(out))
		}
	}
	for p, v := range n.tunables {
		if cur, err := os.ReadFile(p); err == nil && string(cur) != v {
			if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
				cp.logger.Warn("lab: restore a kernel setting the kubelet changed", "sysctl", p, "value", strings.TrimSpace(v), "err", err)
			}
		}
	}
}

// drain deletes every pod bound to the node and waits (at most 30 s, and only while the kubelet runs) until the
// kubelet has confirmed each deletion.
func (n *Node) drain(cp *ControlPlane) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := cp.clients[Admin]
	sel := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", n.Name).String()}
	pods, err := admin.CoreV1().Pods("").List(ctx, sel)
	if err != nil {
		cp.logger.Warn("lab: list the real node's pods", "err", err)
		return
	}
	grace := int64(1)
	for _, p := range pods.Items {
		_ = admin.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &grace})
	}
	for ctx.Err() == nil && !n.kubelet.exited() {
		left, err := admin.CoreV1().Pods("").List(ctx, sel)
		if err == nil && len(left.Items) == 0 {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	cp.logger.Warn("lab: the kubelet did not remove the real node's pods (within 30 s, or it died); removing their containers directly")
}

// removeContainers kills and removes whatever containers are left in the node's containerd (ctr, Debian's
// containerd client), namespace k8s.io.
func (n *Node) removeContainers() {
	out, _ := exec.Command("ctr", "--address", n.socket(), "namespaces", "ls", "-q").Output()
	for _, ns := range strings.Fields(string(out)) {
		ctr := func(args ...string) string {
			out, _ := exec.Command("ctr", append([]string{"--address", n.socket(), "--namespace", ns}, args...)...).Output()
			return string(out)
		}
		tasks := strings.Fields(ctr("tasks", "ls", "-q"))
		for _, t := range tasks {
			ctr("tasks", "kill", "-s", "SIGKILL", t)
		}
		if len(tasks) > 0 {
			time.Sleep(time.Second)
		}
		for _, t := range tasks {
			ctr("tasks", "rm", "-f", t)
		}
		for _, c := range strings.Fields(ctr("containers", "ls", "-q")) {
			ctr("containers", "rm", c)
		}
	}
}

// realNodeAPIServerArgs are the API server's flags for a real node: client certificates of the lab CA (the
// kubelet's), the API server's own client certificate and the CA it verifies the kubelet's serving certificate
// with, the kubelet dialled by its node name, and Services reached through their endpoints (no kube-proxy runs).
func (cp *ControlPlane) realNodeAPIServerArgs(dir string) ([]string, error) {
	certPEM, keyPEM, err := cp.CA.IssueClient(apiServerKubeletUser)
	if err != nil {
		return nil, err
	}
	cert, key, err := writePair(dir, "apiserver-kubelet-client", certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return []string{
		"--client-ca-file", cp.CAFile,
		"--kubelet-client-certificate", cert, "--kubelet-client-key", key,
		"--kubelet-certificate-authority", cp.CAFile,
		"--kubelet-preferred-address-types", "InternalIP",
		"--enable-aggregator-routing=true",
		"--enable-admission-plugins", "NodeRestriction",
	}, nil
}

// kubeletURL is the kubelet API's base URL (https://GATEWAY:PORT).
func (n *Node) kubeletURL() string {
	return "https://" + net.JoinHostPort(n.Gateway.String(), strconv.Itoa(n.kubeletPort))
}

// Leftovers lists what the node made that is still there: processes (containerd's shims), host paths and cgroups that did not exist before it
// started, the pod bridge, mount points under its directory, kernel settings not back to their values from before.
// Empty after Stop.
func (n *Node) Leftovers() []string {
	var out []string
	for _, p := range n.made {
		if exists(p) {
			out = append(out, p)
		}
	}
	if _, err := net.InterfaceByName(PodBridge); err == nil {
		out = append(out, "bridge "+PodBridge)
	}
	for _, m := range mountsUnder(n.Dir) {
		out = append(out, "mount "+m)
	}
	for _, pid := range processesUsing(n.Dir) {
		out = append(out, "process "+strconv.Itoa(pid))
	}
	for p, v := range n.tunables {
		if cur, err := os.ReadFile(p); err == nil && string(cur) != v {
			out = append(out, p+" = "+strings.TrimSpace(string(cur))+", was "+strings.TrimSpace(v))
		}
	}
	return out
}
