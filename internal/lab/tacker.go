package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TackerTreeEnv names the variable that holds the Tacker tree hack/tacker-tree.sh built (its last line).
const TackerTreeEnv = "VNFGUARD_TACKER_TREE"

// TackerOptions configure the lab's real VNFM.
type TackerOptions struct {
	// Tree is the directory hack/tacker-tree.sh printed: Tacker 11.0.0 from source in a venv, its paste
	// pipelines and a pristine SQLite database.
	Tree string
	// NotificationCAFile is the CA Tacker verifies notification endpoints with (vnfguard's serving CA); empty: the
	// lab CA.
	NotificationCAFile string
	// StartTimeout bounds each process's wait for readiness (default 90 s).
	StartTimeout time.Duration
}

// Tacker is a running OpenStack Tacker 11.0.0 (tacker-server and tacker-conductor) with its private RabbitMQ, all
// on loopback, started by StartTacker. Its Kubernetes VIM is the lab's API server, reached as the tacker-vnfm
// identity.
type Tacker struct {
	// URL is the API root, http://127.0.0.1:PORT (SOL003 under /vnflcm/v2, SOL005 packages under /vnfpkgm/v1).
	URL string
	// WorkDir holds the run's configuration, database, packages and logs, under the control plane's WorkDir (which
	// its owner removes: a test keeps it when it fails, for the logs).
	WorkDir string
	// VIMToken is the bearer token of tacker-vnfm, for an InstantiateVnfRequest's vimConnectionInfo.
	VIMToken string
	// VIMEndpoint and VIMCACert are the API server's URL and CA certificate (PEM), for the same.
	VIMEndpoint, VIMCACert string

	procs []*process // stopped in reverse order
}

// StartTacker starts a Tacker whose Kubernetes VIM is this control plane: epmd and RabbitMQ on free loopback
// ports (its RPC), then tacker-conductor and tacker-server with a copy of the tree's database. It returns once the
// API answers and the conductor consumes its RPC topics; Stop ends every process.
func (cp *ControlPlane) StartTacker(ctx context.Context, opts TackerOptions) (t *Tacker, err error) {
	if opts.Tree == "" {
		return nil, errors.New("lab: TackerOptions.Tree is empty: give the directory hack/tacker-tree.sh printed (" + TackerTreeEnv + ")")
	}
	if _, err := os.Stat(filepath.Join(opts.Tree, ".complete")); err != nil {
		return nil, fmt.Errorf("lab: %s is no complete Tacker tree (run hack/tacker-tree.sh): %w", opts.Tree, err)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 90 * time.Second
	}
	if opts.NotificationCAFile == "" {
		opts.NotificationCAFile = cp.CAFile
	}
	caPEM, err := os.ReadFile(cp.CAFile)
	if err != nil {
		return nil, fmt.Errorf("lab: read the lab CA: %w", err)
	}
	dir := filepath.Join(cp.WorkDir, "tacker")
	for _, d := range []string{"data/vnfpackage", "data/csar_files", "data/vim_keys", "data/lock", "log", "rabbit/home", "rabbit/mnesia", "rabbit/log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("lab: tacker dir: %w", err)
		}
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	api, amqp, dist, epmd := ports[0], ports[1], ports[2], ports[3]
	t = &Tacker{URL: "http://127.0.0.1:" + strconv.Itoa(api), WorkDir: dir, VIMToken: cp.tokens[VNFM], VIMEndpoint: cp.URL,
		VIMCACert: string(caPEM)}
	defer func() {
		if err != nil {
			t.Stop()
		}
	}()
	if err := copyFile(filepath.Join(opts.Tree, "tacker.sqlite"), filepath.Join(dir, "data", "tacker.sqlite")); err != nil {
		return nil, err
	}
	if err := t.startRabbit(ctx, opts, amqp, dist, epmd); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "tacker.conf")
	if err := os.WriteFile(conf, []byte(tackerConf(opts.Tree, dir, t.URL, api, amqp, opts.NotificationCAFile)), 0o644); err != nil {
		return nil, fmt.Errorf("lab: write tacker.conf: %w", err)
	}
	for _, name := range []string{"tacker-conductor", "tacker-server"} {
		p, err := startProcess(name, filepath.Join(opts.Tree, "venv", "bin", name), []string{"--config-file", conf},
			filepath.Join(dir, "log", name+".log"), func(c *exec.Cmd) error { c.Dir = dir; return nil })
		if err != nil {
			return nil, err
		}
		t.procs = append(t.procs, p)
	}
	server := t.procs[len(t.procs)-1]
	client := &http.Client{Timeout: 2 * time.Second}
	err = waitFor(ctx, opts.StartTimeout, server, "Tacker's API", func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, t.URL+"/vnflcm/v2/api_versions", nil)
		req.Header.Set("Version", "2.0.0")
		resp, err := client.Do(req)
		if err != nil {
			return false, nil
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, server.tail(20))
	}
	if err := t.waitConductor(ctx, opts, amqp); err != nil {
		return nil, err
	}
	cp.logger.Info("Tacker ready", "url", t.URL, "workDir", dir)
	return t, nil
}

// conductorTopics are the RPC topics tacker-server casts to tacker-conductor: package onboarding (v1) and the
// v2 lifecycle operations.
var conductorTopics = []string{"TACKER_CONDUCTOR", "TACKER_CONDUCTOR_V2"}

// waitConductor returns once RabbitMQ has a consumer on every conductor topic. A cast sent before the conductor
// consumes its queue is dropped (no queue is bound to its key yet) and the package it carried stays UPLOADING for
// good: the API answering is not enough (CI onboarded a package 1 s after the API answered and 50 ms after the
// conductor had loaded its plugins). hack/tacker/rpc_consumers.py asks with a passive queue.declare.
func (t *Tacker) waitConductor(ctx context.Context, opts TackerOptions, amqp int) error {
	conductor := t.procs[len(t.procs)-2]
	url := "amqp://guest:guest@127.0.0.1:" + strconv.Itoa(amqp) + "//"
	var last []byte
	err := waitFor(ctx, opts.StartTimeout, conductor, "tacker-conductor to consume its RPC topics", func(ctx context.Context) (bool, error) {
		args := append([]string{filepath.Join(opts.Tree, "pylib", "rpc_consumers.py"), url}, conductorTopics...)
		out, err := exec.CommandContext(ctx, filepath.Join(opts.Tree, "venv", "bin", "python"), args...).CombinedOutput()
		last = out
		var exit *exec.ExitError
		if err != nil && errors.As(err, &exit) && exit.ExitCode() == 2 {
			return false, fmt.Errorf("rpc_consumers.py: %s", out)
		}
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("%w\nRabbitMQ's answer last time:\n%s", err, last)
	}
	return nil
}

// startRabbit starts epmd (in the foreground, so that it is the lab's child and stops with it) and a RabbitMQ node
// of this run's own name and ports.
func (t *Tacker) startRabbit(ctx context.Context, opts TackerOptions, amqp, dist, epmd int) error {
	r := filepath.Join(t.WorkDir, "rabbit")
	p, err := startProcess("epmd", "/usr/bin/epmd", []string{"-address", "127.0.0.1", "-port", strconv.Itoa(epmd)},
		filepath.Join(r, "log", "epmd.log"), nil)
	if err != nil {
		return err
	}
	t.procs = append(t.procs, p)
	if err := os.WriteFile(filepath.Join(r, "enabled_plugins"), []byte("[].\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r, "rabbitmq.conf"), []byte("loopback_users.guest = true\n"), 0o644); err != nil {
		return err
	}
	env := map[string]string{
		"HOME": filepath.Join(r, "home"), "RABBITMQ_NODENAME": "rabbit-" + strconv.Itoa(amqp) + "@localhost",
		"RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODE_PORT": strconv.Itoa(amqp), "RABBITMQ_DIST_PORT": strconv.Itoa(dist),
		"ERL_EPMD_ADDRESS": "127.0.0.1", "ERL_EPMD_PORT": strconv.Itoa(epmd), "RABBITMQ_MNESIA_BASE": filepath.Join(r, "mnesia"),
		"RABBITMQ_LOG_BASE": filepath.Join(r, "log"), "RABBITMQ_PID_FILE": filepath.Join(r, "rabbit.pid"),
		"RABBITMQ_ENABLED_PLUGINS_FILE": filepath.Join(r, "enabled_plugins"), "RABBITMQ_CONFIG_FILE": filepath.Join(r, "rabbitmq"),
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
	}
	p, err = startProcess("rabbitmq", "/usr/lib/rabbitmq/bin/rabbitmq-server", nil, filepath.Join(r, "log", "server.log"), func(c *exec.Cmd) error {
		c.Dir = r
		for k, v := range env {
			c.Env = append(c.Env, k+"="+v)
		}
		// The script starts the Erlang VM as its child: one process group, stopped whole.
		c.SysProcAttr.Setpgid = true
		return nil
	})
	if err != nil {
		return err
	}
	p.group = true
	t.procs = append(t.procs, p)
	return waitFor(ctx, opts.StartTimeout, p, "RabbitMQ", func(ctx context.Context) (bool, error) {
		conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", "127.0.0.1:"+strconv.Itoa(amqp))
		if err != nil {
			return false, nil
		}
		conn.Close()
		return true, nil
	})
}

// Stop ends Tacker, RabbitMQ and epmd. Safe to call twice.
func (t *Tacker) Stop() {
	if t == nil {
		return
	}
	for i := len(t.procs) - 1; i >= 0; i-- {
		t.procs[i].stop(10 * time.Second)
	}
	t.procs = nil
}

// Logs returns the last n lines of tacker-server's and tacker-conductor's logs, for a failing test.
func (t *Tacker) Logs(n int) string {
	var b strings.Builder
	for _, p := range t.procs {
		if strings.HasPrefix(p.name, "tacker-") {
			fmt.Fprintf(&b, "== %s (%s)\n%s\n", p.name, p.exitError(), p.tail(n))
		}
	}
	return b.String()
}

// tackerConf is the run's tacker.conf: noauth on loopback, SQLite, the private RabbitMQ, notifications verified
// against caFile, and the callback test on subscription (Tacker GETs the callback URI before it answers 201).
func tackerConf(tree, dir, url string, api, amqp int, caFile string) string {
	return `[DEFAULT]
auth_strategy = noauth
bind_host = 127.0.0.1
bind_port = ` + strconv.Itoa(api) + `
debug = False
state_path = ` + dir + `/data
api_paste_config = ` + tree + `/etc/api-paste.ini
transport_url = rabbit://guest:guest@127.0.0.1:` + strconv.Itoa(amqp) + `/
use_stderr = True

[database]
connection = sqlite:///` + dir + `/data/tacker.sqlite

[vnf_package]
vnf_package_csar_path = ` + dir + `/data/vnfpackage

[glance_store]
default_backend = file
filesystem_store_datadir = ` + dir + `/data/csar_files

[vim_keys]
openstack = ` + dir + `/data/vim_keys
use_barbican = False

[oslo_concurrency]
lock_path = ` + dir + `/data/lock

[v2_vnfm]
endpoint = ` + url + `
kubernetes_vim_rsc_wait_timeout = 120
notification_verify_cert = True
notification_ca_cert_file = ` + caFile + `

[v2_nfvo]
use_external_nfvo = False
test_callback_uri = True
`
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	return nil
}

// VNFMRole is the ClusterRole the lab's VNFM holds in the namespaces it deploys to when Options.LeastPrivilegeVNFM
// is set: what Tacker's Kubernetes VIM creates, reads, scales and deletes for a CNF — workloads, their pods, and the
// namespaced objects a CNF package may ship — and nothing else: no exec, attach or port-forward into pods, no RBAC,
// nothing cluster-wide but reading namespaces.
const VNFMRole = "lab:tacker-vnfm"

// installVNFMRole creates VNFMRole and the cluster-wide read of namespaces it goes with.
func (cp *ControlPlane) installVNFMRole(ctx context.Context) error {
	all := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	roles := []*rbacv1.ClusterRole{{
		ObjectMeta: metav1.ObjectMeta{Name: VNFMRole},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"apps"}, Resources: []string{"deployments", "deployments/scale", "deployments/status", "replicasets",
				"replicasets/scale", "statefulsets", "statefulsets/scale", "daemonsets", "controllerrevisions"}, Verbs: all},
			{APIGroups: []string{""}, Resources: []string{"pods", "services", "configmaps", "secrets", "persistentvolumeclaims",
				"serviceaccounts", "endpoints", "limitranges", "resourcequotas", "podtemplates"}, Verbs: all},
			{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: all},
			{APIGroups: []string{"autoscaling"}, Resources: []string{"horizontalpodautoscalers"}, Verbs: all},
			{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"get", "list", "watch"}},
		},
	}, {
		ObjectMeta: metav1.ObjectMeta{Name: VNFMRole + ":namespaces"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list"}}},
	}}
	admin := cp.clients[Admin]
	for _, role := range roles {
		if _, err := admin.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("lab: create ClusterRole %s: %w", role.Name, err)
		}
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: VNFMRole + ":namespaces"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: VNFMRole + ":namespaces"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: VNFM}},
	}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("lab: bind %s: %w", crb.Name, err)
	}
	return nil
}

// GrantVNFM lets the VNFM deploy to namespace (a RoleBinding to VNFMRole): with Options.LeastPrivilegeVNFM it
// holds no other right there.
func (cp *ControlPlane) GrantVNFM(ctx context.Context, namespace string) error {
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: VNFMRole, Namespace: namespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: VNFMRole},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: VNFM}},
	}
	if _, err := cp.clients[Admin].RbacV1().RoleBindings(namespace).Create(ctx, rb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("lab: grant the VNFM %s in %s: %w", VNFMRole, namespace, err)
	}
	return nil
}
