package file

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

const (
	upfDigest     = "sha256:c0ae80ec6e29695c47ab1c84e99691f48c20ddd0eeee851b28cd8975951c847e"
	sidecarDigest = "sha256:ca2f019d4b34a8e7006b678f0eef2975b029e8d94d8d1cf5aa1f018420979598"
	udrDigest     = "sha256:deea7437bf9456562d3efff637f9606488cb726fabddf3afa7270f3024bb8328"
	upfID         = "7f3c2a10-5d1e-4c1b-9a77-0c6d1e2f3a4b"
	udrID         = "0a6f0c4e-3b8d-4a35-8d8e-2d8c3a9b7e10"
	smfID         = "5c1d9e22-8f7a-4e61-b0c3-6a4f2e9d1b73"
	amfID         = "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checkTacker asserts what the Tacker-like CNF inventory says, in YAML or in JSON.
func checkTacker(t *testing.T, snap *vnf.Snapshot) {
	t.Helper()
	if snap.Len() != 4 {
		t.Fatalf("instances = %d, want 4", snap.Len())
	}
	wantStates := map[string]string{upfID: "INSTANTIATED", udrID: "INSTANTIATED", smfID: "STOPPED", amfID: "NOT_INSTANTIATED"}
	wantNS := map[string]string{upfID: "vnf-upf", udrID: "vnf-udr", smfID: "vnf-smf", amfID: "vnf-amf"}
	for id, state := range wantStates {
		inst, ok := snap.Instance(id)
		if !ok {
			t.Fatalf("instance %s missing", id)
		}
		if inst.State() != state {
			t.Errorf("%s state = %s, want %s", id, inst.State(), state)
		}
		if inst.Namespace != wantNS[id] {
			t.Errorf("%s namespace = %q, want %q", id, inst.Namespace, wantNS[id])
		}
	}
	upf, _ := snap.Instance(upfID)
	wantImages := []vnf.DeclaredImage{
		{Name: "upf", Image: "127.0.0.1:5000/5gc/upf@" + upfDigest, Digest: upfDigest},
		{Name: "sidecar", Image: "127.0.0.1:5000/5gc/upf-sidecar:2.1", Digest: sidecarDigest},
	}
	if !reflect.DeepEqual(upf.DeclaredImages, wantImages) {
		t.Errorf("UPF images = %+v, want %+v", upf.DeclaredImages, wantImages)
	}
	if upf.VnfSoftwareVersion != "2.1" || upf.VnfProductName != "UPF" || upf.VimConnectionInfo["vim1"].VimType != "ETSINFV.KUBERNETES.V_1" {
		t.Errorf("UPF SOL003 fields = %q %q %+v", upf.VnfSoftwareVersion, upf.VnfProductName, upf.VimConnectionInfo)
	}
	if upf.OperationInProgress() || upf.TerminationRequested {
		t.Errorf("UPF has an operation or termination it should not: %+v", upf)
	}
	if got, ok := snap.ByResource("vnf-upf", "upf-7d9c5b6f4-fghij"); !ok || got.ID != upfID {
		t.Errorf("pod upf-7d9c5b6f4-fghij does not resolve to the UPF")
	}
	udr, _ := snap.Instance(udrID)
	if udr.ActiveOperation == nil || *udr.ActiveOperation != (vnf.ActiveOperation{Operation: "SCALE", State: "PROCESSING"}) {
		t.Errorf("UDR active operation = %+v", udr.ActiveOperation)
	}
	if len(udr.DeclaredImages) != 1 || udr.DeclaredImages[0].Digest != udrDigest {
		t.Errorf("UDR images = %+v", udr.DeclaredImages)
	}
	if got, ok := snap.ByResource("vnf-udr", "data-udr-1"); !ok || got.ID != udrID {
		t.Errorf("PVC data-udr-1 does not resolve to the UDR")
	}
	if _, ok := snap.ByResource("vnf-upf", "data-udr-1"); ok {
		t.Errorf("PVC data-udr-1 resolves in the UPF's namespace")
	}
	amf, _ := snap.Instance(amfID)
	want := time.Date(2025, 6, 1, 9, 30, 0, 0, time.UTC)
	if !amf.TerminationRequested || amf.TerminatedAt == nil || !amf.TerminatedAt.Equal(want) || !amf.Dormant() {
		t.Errorf("AMF termination = %v %v dormant=%v", amf.TerminationRequested, amf.TerminatedAt, amf.Dormant())
	}
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, snap *vnf.Snapshot)
	}{
		{"tacker-cnf.yaml", checkTacker},
		{"tacker-cnf.json", checkTacker},
		{"sol002-list.yaml", func(t *testing.T, snap *vnf.Snapshot) {
			if snap.Len() != 2 {
				t.Fatalf("instances = %d, want 2", snap.Len())
			}
			udm, _ := snap.Instance("c0ffee00-0000-4000-8000-000000000001")
			if udm.Namespace != "vnf-udm" {
				t.Errorf("namespace from vimConnectionInfo[].extra = %q, want vnf-udm", udm.Namespace)
			}
			if udm.VnfSoftwareVersion != "1.0" {
				t.Errorf("unquoted version 1.0 read as %q", udm.VnfSoftwareVersion)
			}
			if vim, ok := udm.VimConnectionInfo["vim-k8s"]; !ok || vim.VimType != "kubernetes" {
				t.Errorf("list-shaped vimConnectionInfo = %+v", udm.VimConnectionInfo)
			}
			if got, ok := snap.ByResource("vnf-udm", "data-udm-0"); !ok || got != udm {
				t.Errorf("SOL002 vnfVirtualStorageResourceInfo PVC not indexed")
			}
			ausf, _ := snap.Instance("c0ffee00-0000-4000-8000-000000000002")
			if ausf.State() != "NOT_INSTANTIATED" || ausf.InstantiatedVnfInfo != nil || len(ausf.DeclaredImages) != 0 {
				t.Errorf("AUSF = %+v", ausf)
			}
		}},
		{"list.json", func(t *testing.T, snap *vnf.Snapshot) {
			nrf, ok := snap.Instance("j-1")
			if !ok || nrf.Namespace != "vnf-nrf" || !nrf.Running() || nrf.VnfProductName != "NRF" {
				t.Fatalf("NRF = %+v", nrf)
			}
			if got := nrf.InstantiatedVnfInfo.Metadata["replicas"]; got != float64(2) {
				t.Errorf("free-form metadata replicas = %#v", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			snap, err := Load(path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			sum := sha256.Sum256(readFixture(t, tt.file))
			if snap.Version != hex.EncodeToString(sum[:]) || snap.Source != "file:"+path || !snap.Loaded {
				t.Errorf("snapshot version/source/loaded = %s %s %v", snap.Version, snap.Source, snap.Loaded)
			}
			tt.check(t, snap)
		})
	}
}

// The YAML and JSON spellings of one inventory decode to the same instances.
func TestParseYAMLAndJSONAgree(t *testing.T) {
	fromYAML, err := Parse(readFixture(t, "tacker-cnf.yaml"), "tacker-cnf.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := Parse(readFixture(t, "tacker-cnf.json"), "tacker-cnf.json")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromYAML, fromJSON) {
		t.Errorf("YAML and JSON differ:\n%+v\n%+v", fromYAML, fromJSON)
	}
}

func TestParseErrorFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"empty.yaml", []string{
			"empty.yaml: the file is empty; want an Inventory document (kind: Inventory) or a list of VnfInstance objects",
		}},
		{"syntax.yaml", []string{
			"syntax.yaml:4: not valid YAML or JSON: did not find expected ',' or ']'",
		}},
		{"multi-doc.yaml", []string{
			"multi-doc.yaml:2: a second YAML document starts here; an inventory file holds one document",
		}},
		{"single-instance.yaml", []string{
			"single-instance.yaml:1: this is a single VnfInstance object; put it in a list (- id: ...) or under vnfInstances of an Inventory document",
		}},
		{"wrong-kind.yaml", []string{
			`wrong-kind.yaml:1: apiVersion: is "vnfguard.io/v1", want "vnfguard.io/v1alpha1"`,
			`wrong-kind.yaml:2: kind: is "Config", want "Inventory"`,
		}},
		{"unknown-fields.yaml", []string{
			"unknown-fields.yaml:4: vnfInstances[0].vnfdId: missing: the id of the VNFD the instance was created from",
			`unknown-fields.yaml:5: vnfInstances[0].vnfdID: unknown field "vnfdID" in a VnfInstance; did you mean "vnfdId"?`,
			`unknown-fields.yaml:9: vnfInstances[0].instantiatedVnfInfo.vnfcResourceInfos: unknown field "vnfcResourceInfos" in an InstantiatedVnfInfo; did you mean "vnfcResourceInfo"?`,
			`unknown-fields.yaml:12: vnfInstances[0].x-vnfguard.activeOp: unknown field "activeOp" in an x-vnfguard block`,
			`unknown-fields.yaml:13: vnfInstance: unknown field "vnfInstance" in an Inventory document; did you mean "vnfInstances"?`,
		}},
		{"typo.json", []string{
			`typo.json:9: vnfInstances[0].instantiatedVnfInfo.flavorId: unknown field "flavorId" in an InstantiatedVnfInfo; did you mean "flavourId"?`,
		}},
		{"states.yaml", []string{
			`states.yaml:6: vnfInstances[0].instantiationState: "INSTANTIATD" is not a SOL003 instantiation state; want INSTANTIATED or NOT_INSTANTIATED`,
			`states.yaml:11: vnfInstances[1].instantiatedVnfInfo.vnfState: "RUNNING" is not a SOL003 VNF state; want STARTED or STOPPED`,
			"states.yaml:15: vnfInstances[2].instantiatedVnfInfo.vnfState: missing: STARTED or STOPPED",
			"states.yaml:16: vnfInstances[3].instantiatedVnfInfo: missing: SOL003 requires it when instantiationState is INSTANTIATED (it holds vnfState and the resources)",
		}},
		{"ids.yaml", []string{
			"ids.yaml:4: [1].id: missing: the VNF instance id (the value of the instance label on its objects)",
			"ids.yaml:6: [2].vnfdId: missing: the id of the VNFD the instance was created from",
			`ids.yaml:6: [2].id: "upf-1" is also the id of [0] (line 1)`,
			"ids.yaml:8: [3]: is empty",
		}},
		{"images.yaml", []string{
			`images.yaml:6: vnfPackages[0].images[0].image: "127.0.0.1:5000/5gc/UPF:1.0" is not an image reference: could not parse reference: 127.0.0.1:5000/5gc/UPF:1.0`,
			`images.yaml:7: vnfPackages[0].images[1].image: "127.0.0.1:5000/5gc/upf@sha256:abc" is not an image reference: could not parse reference: 127.0.0.1:5000/5gc/upf@sha256:abc`,
			`images.yaml:8: vnfPackages[0].images[2].digest: "sha256:ABCDEF" is not sha256:<64 lowercase hex>`,
			"images.yaml:11: vnfPackages[0].images[3].digest: " + sidecarDigest + " differs from the digest in the image reference (" + upfDigest + ")",
			"images.yaml:12: vnfPackages[0].images[4].image: missing: the image reference, e.g. registry.example.com/5gc/upf@sha256:<64 hex>",
			`images.yaml:13: vnfPackages[1].vnfdId: "upf-vnfd" is declared by an earlier package too`,
			"images.yaml:14: vnfPackages[2].vnfdId: missing: the VNFD id the package's instances name",
		}},
		{"types.yaml", []string{
			"types.yaml:4: vnfInstances[0].id: must be a string, not a mapping",
			"types.yaml:6: vnfInstances[0].vnfProductName: must be a string, not the boolean true (quote it)",
			"types.yaml:10: vnfInstances[0].instantiatedVnfInfo.vnfcResourceInfo: must be a list, not a mapping",
			`types.yaml:12: vnfInstances[0].x-vnfguard.terminationRequested: must be true or false, not the string "yes"`,
			`types.yaml:13: vnfInstances[0].x-vnfguard.terminatedAt: "yesterday" is not an RFC 3339 time (e.g. 2025-01-31T12:00:00Z)`,
			"types.yaml:20: vnfInstances[1].instantiatedVnfInfo.vnfcResourceInfo[0].computeResource.resourceId: missing: the name of the VNFC's resource (for a CNF, the Pod name)",
			"types.yaml:21: vnfInstances[1].instantiatedVnfInfo.vnfcResourceInfo[1].id: missing: the VNFC resource id",
			`types.yaml:23: vnfInstances[1].x-vnfguard.activeOperation.operation: "UPGRADE" is not a SOL003 LCM operation; want one of CHANGE_EXT_CONN, CHANGE_FLAVOUR, CHANGE_VNFPKG, CREATE_SNAPSHOT, HEAL, INSTANTIATE, MODIFY_INFO, OPERATE, REVERT_TO_SNAPSHOT, SCALE, SCALE_TO_LEVEL, TERMINATE`,
			`types.yaml:23: vnfInstances[1].x-vnfguard.activeOperation.operationState: "RUNNING" is not a SOL003 operation state; want one of COMPLETED, FAILED, FAILED_TEMP, PROCESSING, ROLLED_BACK, ROLLING_BACK, STARTING`,
			"types.yaml:28: vnfInstances[2].x-vnfguard.activeOperation.operation: missing: the SOL003 LCM operation (CHANGE_EXT_CONN, CHANGE_FLAVOUR, CHANGE_VNFPKG, CREATE_SNAPSHOT, HEAL, INSTANTIATE, MODIFY_INFO, OPERATE, REVERT_TO_SNAPSHOT, SCALE, SCALE_TO_LEVEL, TERMINATE)",
		}},
		{"conflicts.yaml", []string{
			"conflicts.yaml:15: vnfInstances[1].instantiationState: duplicate field (first at line 14)",
			`conflicts.yaml:19: vnfInstances[1].instantiatedVnfInfo.virtualStorageResourceInfo[0].storageResource.resourceId: resource "upf-abc" (namespace "vnf-5gc") is already a resource of instance upf-1 at vnfInstances[0].instantiatedVnfInfo.vnfcResourceInfo[0].computeResource.resourceId (line 10)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			instances, err := Parse(readFixture(t, filepath.Join("bad", tt.file)), tt.file)
			if err == nil {
				t.Fatalf("no error; instances %+v", instances)
			}
			if instances != nil {
				t.Errorf("instances returned with an error: %+v", instances)
			}
			got := strings.Split(err.Error(), "\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			var first *Error
			if !errors.As(err, &first) || first.File != tt.file {
				t.Errorf("error does not unwrap to *Error of %s: %#v", tt.file, first)
			}
		})
	}
}

func TestParseInline(t *testing.T) {
	const ok = "- {id: a, vnfdId: v, instantiationState: NOT_INSTANTIATED%s}\n"
	tests := []struct {
		name    string
		doc     string
		wantErr string // substring; empty for success
		check   func(t *testing.T, insts []*vnf.Instance)
	}{
		{name: "empty list", doc: "[]", check: func(t *testing.T, insts []*vnf.Instance) {
			if len(insts) != 0 {
				t.Errorf("instances = %d", len(insts))
			}
		}},
		{name: "inventory without instances", doc: "apiVersion: vnfguard.io/v1alpha1\nkind: Inventory\n"},
		{name: "finished operation is not active", doc: strings.Replace(ok, "%s", ", x-vnfguard: {activeOperation: {operation: TERMINATE, operationState: COMPLETED}}", 1),
			check: func(t *testing.T, insts []*vnf.Instance) {
				if insts[0].ActiveOperation != nil {
					t.Errorf("COMPLETED operation kept as active: %+v", insts[0].ActiveOperation)
				}
			}},
		{name: "temporarily failed operation stays active", doc: strings.Replace(ok, "%s", ", x-vnfguard: {activeOperation: {operation: INSTANTIATE, operationState: FAILED_TEMP}}", 1),
			check: func(t *testing.T, insts []*vnf.Instance) {
				if insts[0].ActiveOperation == nil {
					t.Error("FAILED_TEMP operation dropped")
				}
			}},
		{name: "aliases are followed", doc: "- &a {id: a, vnfdId: v, instantiationState: NOT_INSTANTIATED}\n- {id: b, vnfdId: v, instantiationState: NOT_INSTANTIATED, metadata: *a}\n",
			check: func(t *testing.T, insts []*vnf.Instance) {
				if insts[1].Metadata["id"] != "a" {
					t.Errorf("alias metadata = %+v", insts[1].Metadata)
				}
			}},
		{name: "package fills product", doc: "kind: Inventory\napiVersion: vnfguard.io/v1alpha1\nvnfPackages: [{vnfdId: v, vnfProductName: UPF, vnfProvider: Acme}]\nvnfInstances:\n" + strings.Replace(ok, "%s", "", 1),
			check: func(t *testing.T, insts []*vnf.Instance) {
				if insts[0].VnfProductName != "UPF" || insts[0].VnfProvider != "Acme" {
					t.Errorf("product/provider = %q/%q", insts[0].VnfProductName, insts[0].VnfProvider)
				}
			}},
		{name: "scalar document", doc: "hello", wantErr: `x.yaml:1: the document is the string "hello"; want`},
		{name: "null document", doc: "~", wantErr: "x.yaml:1: the document is empty"},
		{name: "comments only", doc: "# nothing\n", wantErr: "x.yaml: the file holds only comments"},
		{name: "non-string key", doc: "- {[a]: b}", wantErr: "x.yaml:1: [0]: a mapping key must be a string, not a list"},
		{name: "list item not a mapping", doc: "- a", wantErr: `x.yaml:1: [0]: must be a VnfInstance (a mapping), not the string "a"`},
		{name: "billion laughs", doc: laughs(), wantErr: "refusing to read it"},
		{name: "infinite float in metadata", doc: strings.Replace(ok, "%s", ", metadata: {x: .inf}", 1), check: func(t *testing.T, insts []*vnf.Instance) {
			if insts[0].Metadata["x"] != ".inf" {
				t.Errorf("metadata x = %#v", insts[0].Metadata["x"])
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			insts, err := Parse([]byte(tt.doc), "x.yaml")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, insts)
			}
		})
	}
}

// laughs builds a small document whose aliases expand to about 10^9 values.
func laughs() string {
	var b strings.Builder
	b.WriteString("- id: a\n  vnfdId: v\n  instantiationState: NOT_INSTANTIATED\n  metadata:\n    l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 9; i++ {
		b.WriteString("    l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*l" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestParseManyErrorsAreCapped(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 80; i++ {
		b.WriteString("- {vnfdId: v, instantiationState: NOT_INSTANTIATED}\n")
	}
	_, err := Parse([]byte(b.String()), "x.yaml")
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxErrors+1 || lines[maxErrors] != "x.yaml: and 30 more errors" {
		t.Errorf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/tacker-cnf.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParseRecursiveAlias(t *testing.T) {
	for _, doc := range []string{
		"- &a {id: a, vnfdId: v, instantiationState: NOT_INSTANTIATED, metadata: {self: *a}}",
		"- {id: a, vnfdId: v, instantiationState: NOT_INSTANTIATED, metadata: &m [*m, *m]}",
	} {
		_, err := Parse([]byte(doc), "x.yaml")
		if err == nil || !strings.Contains(err.Error(), "refusing to read it") {
			t.Errorf("%s: error = %v", doc, err)
		}
	}
}

func TestParsePackages(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	doc := `apiVersion: vnfguard.io/v1alpha1
kind: Inventory
vnfPackages:
  - vnfdId: udr-vnfd
    vnfProductName: UDR
    images:
      - {name: udr, image: "registry.example/5gc/udr@` + digest + `"}
`
	pkgs, err := ParsePackages([]byte(doc), "packages.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if imgs := pkgs["udr-vnfd"]; len(imgs) != 1 || imgs[0].Digest != digest {
		t.Fatalf("udr-vnfd declares %+v, want one image with digest %s", imgs, digest)
	}
	_, err = ParsePackages([]byte(strings.Replace(doc, digest, "sha256:0123", 1)), "packages.yaml")
	if err == nil || !strings.Contains(err.Error(), "packages.yaml") || !strings.Contains(err.Error(), "vnfPackages[0].images[0]") {
		t.Fatalf("a package image with a short digest: error %v, want one naming the file and vnfPackages[0].images[0]", err)
	}
}
