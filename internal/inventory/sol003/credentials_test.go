package sol003

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vnfguard/vnfguard/internal/inventory/sol003/vnfmtest"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// instanceWithVIM is a NOT_INSTANTIATED instance with the given vimConnectionInfo.
func instanceWithVIM(vims string) []byte {
	return []byte(`{"id": "i1", "vnfdId": "d1", "instantiationState": "NOT_INSTANTIATED", "vimConnectionInfo": ` + vims + `}`)
}

// mustNotContain fails when any of the secret values appears in what vnfguard keeps of the instance.
func mustNotContain(t *testing.T, what string, data []byte, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("%s holds the secret value %q:\n%s", what, s, data)
		}
	}
}

func TestDisclosedCredentials(t *testing.T) {
	tests := []struct {
		name    string
		vims    string
		want    []string
		secrets []string // values that must not be kept anywhere
	}{
		{"Tacker 11: accessInfo stripped", `{"vim1": {"vimType": "ETSINFV.KUBERNETES.V_1", "interfaceInfo": {"endpoint": "https://k8s:6443", "ssl_ca_cert": "-----BEGIN CERTIFICATE-----"}, "accessInfo": {}}}`,
			nil, nil},
		{"Tacker 11 with OIDC: the public keys remain", `{"vim1": {"vimType": "ETSINFV.KUBERNETES.V_1", "accessInfo": {"oidc_token_url": "https://idp/token", "username": "end-user", "client_id": "tacker"}}}`,
			nil, nil},
		{"Tacker Zed: bearer_token", `{"vim1": {"vimType": "ETSINFV.KUBERNETES.V_1", "accessInfo": {"bearer_token": "eyJhbGciOi-SECRET-1"}}}`,
			[]string{"vimConnectionInfo.vim1.accessInfo.bearer_token"}, []string{"eyJhbGciOi-SECRET-1"}},
		{"OIDC with password and client_secret", `{"vim1": {"vimType": "kubernetes", "accessInfo": {"oidc_token_url": "https://idp/token", "username": "u", "password": "pw-SECRET-2", "client_id": "c", "client_secret": "cs-SECRET-3"}}}`,
			[]string{"vimConnectionInfo.vim1.accessInfo.client_secret", "vimConnectionInfo.vim1.accessInfo.password"}, []string{"pw-SECRET-2", "cs-SECRET-3"}},
		{"empty and boolean values disclose nothing", `{"vim1": {"vimType": "kubernetes", "accessInfo": {"password": "", "bearer_token": "  ", "token": false, "client_secret": null, "client_key": {}}}}`,
			nil, nil},
		{"credentials outside accessInfo, nested, and in two VIMs", `{
			"vim2": {"vimType": "kubernetes", "interfaceInfo": {"endpoint": "https://k8s:6443", "token": "it-SECRET-4", "ssl_ca_cert": "CA"},
			         "extra": {"namespace": "vnf-a", "kubeconfig": {"users": [{"user": {"token": "kc-SECRET-5"}}]}, "helm": {"auth": [{"username": "h", "password": "hp-SECRET-6"}]}}},
			"vim1": {"vimType": "ETSINFV.OPENSTACK_KEYSTONE.V_3", "accessInfo": {"username": "admin", "password": "os-SECRET-7", "project": "p", "region": "RegionOne", "pin": 1234},
			         "interfaceInfo": {"client_key": "-----BEGIN PRIVATE KEY----- ck-SECRET-8"}}}`,
			[]string{
				"vimConnectionInfo.vim1.accessInfo.password",
				"vimConnectionInfo.vim1.interfaceInfo.client_key",
				"vimConnectionInfo.vim2.extra.helm.auth[0].password",
				"vimConnectionInfo.vim2.extra.kubeconfig",
				"vimConnectionInfo.vim2.interfaceInfo.token",
			}, []string{"it-SECRET-4", "kc-SECRET-5", "hp-SECRET-6", "os-SECRET-7", "ck-SECRET-8"}},
		{"a key that is no plain name is quoted", `{"vim 1": {"vimType": "kubernetes", "accessInfo": {"Bearer Token": "q-SECRET-9", "api.key": "q-SECRET-10"}},
			"vim\n2": {"vimType": "kubernetes", "accessInfo": {"token": "q-SECRET-11"}}}`,
			[]string{`vimConnectionInfo["vim 1"].accessInfo["Bearer Token"]`, `vimConnectionInfo["vim 1"].accessInfo["api.key"]`, `vimConnectionInfo["vim\n2"].accessInfo.token`},
			[]string{"q-SECRET-9", "q-SECRET-10", "q-SECRET-11"}},
		{"a numeric secret", `{"vim1": {"vimType": "kubernetes", "accessInfo": {"passwd": 271828}}}`,
			[]string{"vimConnectionInfo.vim1.accessInfo.passwd"}, []string{"271828"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst, err := decodeInstance(instanceWithVIM(tt.vims), "GET test")
			must(t, err)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(inst.DisclosedCredentials, want) {
				t.Errorf("DisclosedCredentials =\n%q\nwant\n%q", inst.DisclosedCredentials, want)
			}
			// Nothing vnfguard keeps of the instance holds a value: its JSON (snapshots, the inventory history),
			// its Go rendering (a %+v in a log), the snapshot built from it.
			data, err := json.Marshal(inst)
			must(t, err)
			mustNotContain(t, "the instance's JSON", data, tt.secrets...)
			mustNotContain(t, "the instance's %+v", fmt.Appendf(nil, "%+v %+v", *inst, inst.VimConnectionInfo), tt.secrets...)
			snap := vnf.NewSnapshot("sol003:test", "v", inst0(), []*vnf.Instance{inst})
			got, _ := snap.Instance("i1")
			data, _ = json.Marshal(got)
			mustNotContain(t, "the snapshot's instance", data, tt.secrets...)
		})
	}
}

func TestDisclosedCredentialsKeepsWhatLocatesResources(t *testing.T) {
	inst, err := decodeInstance(instanceWithVIM(`{"vim1": {"vimType": "kubernetes", "interfaceInfo": {"endpoint": "https://k8s:6443", "namespace": "vnf-b", "password": "x"}, "extra": {"token": "y"}}}`), "GET test")
	must(t, err)
	vim := inst.VimConnectionInfo["vim1"]
	if vim.InterfaceInfo["endpoint"] != "https://k8s:6443" || inst.Namespace != "vnf-b" {
		t.Errorf("interfaceInfo %v, namespace %q: the non-secret fields must stay", vim.InterfaceInfo, inst.Namespace)
	}
	if _, ok := vim.InterfaceInfo["password"]; ok {
		t.Error("interfaceInfo.password kept")
	}
	if _, ok := vim.Extra["token"]; ok {
		t.Error("extra.token kept")
	}
}

func TestDisclosedCredentialsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"vim1": {"vimType": "kubernetes", "accessInfo": {`)
	for i := range 100 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"token` + strconv.Itoa(i) + `_` + strings.Repeat("x", 100) + `_token": "v"`)
	}
	b.WriteString(`}}}`)
	inst, err := decodeInstance(instanceWithVIM(b.String()), "GET test")
	must(t, err)
	if n := len(inst.DisclosedCredentials); n != maxCredentialPaths {
		t.Fatalf("%d paths, want at most %d", n, maxCredentialPaths)
	}
	for _, p := range inst.DisclosedCredentials {
		if len(p) > len("vimConnectionInfo.vim1.accessInfo.")+maxPathSegment+len("[\"…\"]")+2 {
			t.Errorf("path of %d bytes: %s", len(p), p)
		}
	}
}

// The tacker-cnf-list fixture is shaped like Zed's answers: its UPF instance carries accessInfo.bearer_token.
func TestDecodeInstancesRecordsDisclosure(t *testing.T) {
	data := []byte(`[` + string(instanceWithVIM(`{"vim1": {"vimType": "kubernetes", "accessInfo": {"bearer_token": "t"}}}`)) + `,
		{"id": "i2", "vnfdId": "d1", "instantiationState": "NOT_INSTANTIATED"}]`)
	list, err := decodeInstances(data, "GET test", 1)
	must(t, err)
	if got := list[0].DisclosedCredentials; !slices.Equal(got, []string{"vimConnectionInfo.vim1.accessInfo.bearer_token"}) {
		t.Errorf("instance 0: %q", got)
	}
	if got := list[1].DisclosedCredentials; got != nil {
		t.Errorf("instance 1 has no vimConnectionInfo: %q", got)
	}
}

// TestSourceDisclosure: the test VNFM answering as Tacker 11 gives instances without disclosed credentials; one
// that returns accessInfo's secrets gives the paths, in the instances taken in by a full list and by a
// notification's GET alike, and no value in the snapshot or the log; when the VNFM stops, the next list clears them
// and the snapshot's version changes.
func TestSourceDisclosure(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, vnfmtest.Options{}, func(c *Config) { c.CallbackURI = "" })
	src, err := NewSource(e.cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	must(t, err)
	e.src = src
	ctx := context.Background()
	id, err := e.vnfm.Create("upf-creds", upf)
	must(t, err)
	must(t, e.vnfm.Instantiate(id, vnfmtest.Workload{Namespace: "vnf-upf", Name: "upf"}))
	secrets := e.vnfm.VIMSecrets()
	if len(secrets) == 0 {
		t.Fatal("the test VNFM holds no VIM secrets")
	}

	must(t, src.Resync(ctx))
	inst, _ := src.Snapshot().Instance(id)
	if inst.DisclosedCredentials != nil {
		t.Fatalf("a VNFM answering as Tacker 11: DisclosedCredentials %q, want none", inst.DisclosedCredentials)
	}
	quiet := src.Snapshot().Version

	e.vnfm.SetDiscloseAccessInfo(true)
	want := []string{"vimConnectionInfo.vim1.accessInfo.client_secret", "vimConnectionInfo.vim1.accessInfo.password"}
	must(t, src.Resync(ctx))
	inst, _ = src.Snapshot().Instance(id)
	if !slices.Equal(inst.DisclosedCredentials, want) {
		t.Fatalf("after a full list: DisclosedCredentials %q, want %q", inst.DisclosedCredentials, want)
	}
	if src.Snapshot().Version == quiet {
		t.Error("the disclosure did not change the snapshot's version: reconciliation would not look again")
	}
	must(t, src.Apply(ctx, &Notification{NotificationType: NotificationLcmOperationOccurrence, VnfInstanceID: id, Operation: "HEAL", OperationState: "COMPLETED", TimeStamp: inst0()}))
	inst, _ = src.Snapshot().Instance(id)
	if !slices.Equal(inst.DisclosedCredentials, want) {
		t.Fatalf("after a notification's GET: DisclosedCredentials %q, want %q", inst.DisclosedCredentials, want)
	}
	data, err := json.Marshal(src.Snapshot().Instances())
	must(t, err)
	mustNotContain(t, "the snapshot", data, secrets...)

	e.vnfm.SetDiscloseAccessInfo(false)
	must(t, src.Resync(ctx))
	inst, _ = src.Snapshot().Instance(id)
	if inst.DisclosedCredentials != nil {
		t.Fatalf("the VNFM stopped disclosing: DisclosedCredentials %q, want none", inst.DisclosedCredentials)
	}
	mustNotContain(t, "the source's log", logs.Bytes(), secrets...)
	if logs.Len() == 0 {
		t.Error("no log at all: the check above proves nothing")
	}
}
