package posture

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/inventory/file"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func scanFixtures(t *testing.T) []finding.Finding {
	t.Helper()
	in, err := FromFiles([]string{"testdata/cluster"}, "")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := file.Load("testdata/inventory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte("registries: {allowed: [registry.5gc.example/]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := Scan(context.Background(), in, Options{Config: cfg, Inventory: snap, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestScanFixtures(t *testing.T) {
	fs := scanFixtures(t)
	type key struct{ rule, kind, ns, name string }
	got := map[key]finding.Finding{}
	for _, f := range fs {
		if f.Source != Source || f.ID == "" || f.Technique == "" || len(f.Mitigations) == 0 || f.Message == "" {
			t.Errorf("incomplete finding: %+v", f)
		}
		got[key{f.Rule, f.Object.Kind, f.Object.Namespace, f.Object.Name}] = f
	}
	for _, want := range []struct {
		key
		sev        finding.Severity
		technique  string
		mitigation string
		instance   string
	}{
		{key{"posture-host-takeover", "Pod", "tools", "peirates"}, finding.Critical, finding.MaliciousVNFInstantiation, finding.MitigationPrivilegedAccounts, ""},
		{key{"posture-reverse-shell", "Pod", "tools", "peirates"}, finding.Critical, finding.MaliciousVNFInstantiation, finding.MitigationExecutionPrevention, ""},
		// The debug pod names no instance, but sits in the UPF's only namespace: bound by it.
		{key{"posture-pod-security", "Pod", "vnf-upf", "debug"}, finding.High, finding.MaliciousVNFInstantiation, finding.MitigationPrivilegedAccounts, "upf-1"},
		// M1038: the debug pod's root filesystem is writable; posture judges through the admission policy.
		{key{"posture-readonly-rootfs", "Pod", "vnf-upf", "debug"}, finding.High, finding.MaliciousVNFInstantiation, finding.MitigationExecutionPrevention, "upf-1"},
		{key{"exposed-service", "Service", "tools", "node-agent"}, finding.Critical, finding.MaliciousVNFInstantiation, finding.MitigationNetworkSegmentation, ""},
		{key{"exposed-service", "Service", "tools", "kubernetes-dashboard"}, finding.High, finding.MaliciousVNFInstantiation, finding.MitigationNetworkSegmentation, ""},
		{key{"no-default-deny", "Namespace", "", "vnf-upf"}, finding.Medium, finding.AccessingTerminatedVNF, finding.MitigationNetworkSegmentation, "upf-1"},
		{key{"host-network", "DaemonSet", "vnf-udr", "probe"}, finding.High, finding.MaliciousVNFInstantiation, finding.MitigationNetworkSegmentation, ""},
	} {
		f, ok := got[want.key]
		if !ok {
			t.Errorf("no %s finding on %s %s/%s", want.rule, want.kind, want.ns, want.name)
			continue
		}
		if f.Severity != want.sev || f.Technique != want.technique || !slices.Contains(f.Mitigations, want.mitigation) || f.VNFInstance != want.instance {
			t.Errorf("%s on %s/%s: severity %s technique %s mitigations %v instance %q; want %s %s %s %q",
				want.rule, want.ns, want.name, f.Severity, f.Technique, f.Mitigations, f.VNFInstance, want.sev, want.technique, want.mitigation, want.instance)
		}
		if f.Evidence["file"] == "" || f.Evidence["line"] == "" {
			t.Errorf("%s on %s/%s: no file and line in the evidence: %v", want.rule, want.ns, want.name, f.Evidence)
		}
	}
	for k := range got {
		switch {
		case k.ns == "vnf-upf" && (k.name == "upf" || k.name == "upf-7d9c" || k.name == "upf-n3"):
			t.Errorf("the compliant UPF (or its ReplicaSet, judged through the Deployment) has a %s finding on %s %s", k.rule, k.kind, k.name)
		case k.rule == "no-default-deny" && k.name != "vnf-upf":
			t.Errorf("no-default-deny on %s, which is not protected or has its default-deny", k.name)
		case k.kind == "Service" && k.name == "udr-sbi":
			t.Errorf("a ClusterIP Service is reported: %s", k.rule)
		}
	}
	// Most severe first.
	for i := 1; i < len(fs); i++ {
		if fs[i].Severity > fs[i-1].Severity {
			t.Fatalf("findings not sorted by severity at %d: %s after %s", i, fs[i].Severity, fs[i-1].Severity)
		}
	}
}

func TestScanBindsInstances(t *testing.T) {
	in, err := FromFiles([]string{"testdata/cluster"}, "")
	if err != nil {
		t.Fatal(err)
	}
	// The UPF with an undeclared image now: its finding names the instance.
	for _, o := range in.Objects {
		if o.GVK.Kind == "Deployment" {
			spec := podSpecOf(o.Object)
			spec.Containers[0].Image = strings.Replace(spec.Containers[0].Image, "5b0bcabd", "00000000", 1)
		}
	}
	snap, err := file.Load("testdata/inventory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := Scan(context.Background(), in, Options{Inventory: snap, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(fs, func(f finding.Finding) bool { return f.Rule == "posture-image-provenance" && f.Object.Name == "upf" })
	if i < 0 {
		t.Fatalf("no image-provenance finding on the UPF with an undeclared digest")
	}
	if f := fs[i]; f.VNFInstance != "upf-1" || f.VNFProduct != "UPF" || f.Evidence["vnfState"] != "INSTANTIATED" {
		t.Errorf("finding on the UPF names instance %q product %q state %q; want upf-1, UPF, INSTANTIATED", f.VNFInstance, f.VNFProduct, f.Evidence["vnfState"])
	}
}
