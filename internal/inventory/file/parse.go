package file

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"go.yaml.in/yaml/v3"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// APIVersion and Kind identify an Inventory document.
const (
	APIVersion = "vnfguard.io/v1alpha1"
	Kind       = "Inventory"
)

// maxErrors bounds how many errors one file reports: past that, the file is not an inventory with typos.
const maxErrors = 50

// Error is one problem in an inventory file.
type Error struct {
	File string // the file, as given to Parse or Load
	Line int    // 1-based; 0 when unknown
	Path string // the field, e.g. vnfInstances[2].instantiationState; empty for the whole document
	Msg  string // what is wrong
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Load reads and parses an inventory file. The snapshot's Source is "file:"+path and its Version the sha256 hex of
// the file's bytes, so that two loads of the same content have the same version.
func Load(path string) (*vnf.Snapshot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	return snapshot(data, path, time.Now())
}

func snapshot(data []byte, path string, now time.Time) (*vnf.Snapshot, error) {
	instances, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	return vnf.NewSnapshot("file:"+path, Version(data), now, instances), nil
}

// Version is the version a snapshot of this content carries: the sha256 hex of the bytes.
func Version(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// ParsePackages reads the vnfPackages of an Inventory document: the images each onboarded VNF package declares, by
// vnfdId. It is the catalogue a SOL003 inventory takes declared images from, since a VNFM's VnfInstance does not
// carry them. Instances in the document are validated too, and ignored.
func ParsePackages(data []byte, source string) (map[string][]vnf.DeclaredImage, error) {
	p := &parser{w: newWalker(source)}
	p.parse(data)
	if err := p.joinErrors(source); err != nil {
		return nil, err
	}
	if p.images == nil {
		return map[string][]vnf.DeclaredImage{}, nil
	}
	return p.images, nil
}

// LoadPackages reads ParsePackages' catalogue from a file.
func LoadPackages(path string) (map[string][]vnf.DeclaredImage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read VNF packages: %w", err)
	}
	return ParsePackages(data, path)
}

// Parse decodes and validates an inventory (YAML or JSON): an Inventory document or a plain list of VnfInstance
// objects. source names the file in errors. Each instance gets the images its package declares (by vnfdId) and
// the facts of its x-vnfguard block. The error, when not nil, joins one *Error per problem, in line order.
func Parse(data []byte, source string) ([]*vnf.Instance, error) {
	p := &parser{w: newWalker(source)}
	instances := p.parse(data)
	if err := p.joinErrors(source); err != nil {
		return nil, err
	}
	return instances, nil
}

// joinErrors joins the errors found, in line order and at most maxErrors of them; nil when there were none.
func (p *parser) joinErrors(source string) error {
	if len(p.w.errs) == 0 {
		return nil
	}
	errs := p.w.errs
	sort.SliceStable(errs, func(i, j int) bool {
		li, lj := errs[i].Line, errs[j].Line
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0 // errors without a line last
		}
		return li < lj
	})
	out := make([]error, 0, min(len(errs), maxErrors)+1)
	for _, e := range errs[:min(len(errs), maxErrors)] {
		out = append(out, e)
	}
	if len(errs) > maxErrors {
		out = append(out, &Error{File: source, Msg: fmt.Sprintf("and %d more errors", len(errs)-maxErrors)})
	}
	return errors.Join(out...)
}

type parser struct {
	w *walker
	// images are the declared images of the packages read, by vnfdId.
	images map[string][]vnf.DeclaredImage
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a YAML parser error into an Error with its line.
func (p *parser) syntaxError(err error) {
	msg := err.Error()
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	p.w.errorf(line, "", "not valid YAML or JSON: %s", strings.TrimPrefix(msg, "yaml: "))
}

func (p *parser) parse(data []byte) []*vnf.Instance {
	const want = "want an Inventory document (kind: Inventory) or a list of VnfInstance objects"
	if len(bytes.TrimSpace(data)) == 0 {
		p.w.errorf(0, "", "the file is empty; %s", want)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.w.errorf(0, "", "the file holds only comments; %s", want)
		} else {
			p.syntaxError(err)
		}
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		p.w.errorf(next.Line, "", "a second YAML document starts here; an inventory file holds one document")
		return nil
	} else if !errors.Is(err, io.EOF) {
		p.syntaxError(err)
		return nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	root = deref(root)
	p.w.lines[""] = root.Line
	switch {
	case isNull(root):
		p.w.errorf(root.Line, "", "the document is empty; %s", want)
		return nil
	case root.Kind == yaml.SequenceNode:
		list, _ := p.w.value(root, "", listOf(instanceSchema))
		items, _ := list.([]any)
		return p.build(nil, items, "")
	case root.Kind != yaml.MappingNode:
		p.w.errorf(root.Line, "", "the document is %s; %s", describe(root), want)
		return nil
	}
	if looksLikeInstance(root) {
		p.w.errorf(root.Line, "", "this is a single VnfInstance object; put it in a list (- id: ...) or under vnfInstances of an Inventory document")
		return nil
	}
	v, _ := p.w.value(root, "", inventorySchema)
	top, _ := v.(map[string]any)
	if kind, _ := top["kind"].(string); kind != Kind {
		p.w.errorf(p.w.lineOf("kind"), "kind", "is %q, want %q", kind, Kind)
	}
	if apiVersion, _ := top["apiVersion"].(string); apiVersion != APIVersion {
		p.w.errorf(p.w.lineOf("apiVersion"), "apiVersion", "is %q, want %q", apiVersion, APIVersion)
	}
	packages, _ := top["vnfPackages"].([]any)
	items, _ := top["vnfInstances"].([]any)
	return p.build(packages, items, "vnfInstances")
}

// looksLikeInstance reports whether a mapping is a lone VnfInstance rather than an Inventory document.
func looksLikeInstance(n *yaml.Node) bool {
	keys := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := deref(n.Content[i]); k != nil {
			keys[k.Value] = true
		}
	}
	return !keys["kind"] && !keys["vnfInstances"] && (keys["id"] || keys["vnfdId"] || keys["instantiationState"])
}

// wirePackage is one entry of vnfPackages.
type wirePackage struct {
	VnfdID             string      `json:"vnfdId"`
	VnfProvider        string      `json:"vnfProvider"`
	VnfProductName     string      `json:"vnfProductName"`
	VnfSoftwareVersion string      `json:"vnfSoftwareVersion"`
	Images             []wireImage `json:"images"`
}

type wireImage struct {
	Name   string `json:"name"`
	Image  string `json:"image"`
	Digest string `json:"digest"`
}

// wireInstance is a VnfInstance as written in the file: SOL003's fields and vnfguard's x-vnfguard block.
type wireInstance struct {
	vnf.Instance
	X *struct {
		ActiveOperation      *vnf.ActiveOperation `json:"activeOperation"`
		TerminationRequested bool                 `json:"terminationRequested"`
		TerminatedAt         string               `json:"terminatedAt"`
	} `json:"x-vnfguard"`
}

// SOL003's LcmOperationType and LcmOperationStateType values. An operation in a final state is no longer active.
var (
	lcmOperations = set("INSTANTIATE", "SCALE", "SCALE_TO_LEVEL", "CHANGE_FLAVOUR", "TERMINATE", "HEAL", "OPERATE",
		"CHANGE_EXT_CONN", "MODIFY_INFO", "CREATE_SNAPSHOT", "REVERT_TO_SNAPSHOT", "CHANGE_VNFPKG")
	lcmStates      = set("STARTING", "PROCESSING", "COMPLETED", "FAILED_TEMP", "FAILED", "ROLLING_BACK", "ROLLED_BACK")
	lcmFinalStates = set("COMPLETED", "FAILED", "ROLLED_BACK")
)

func set(values ...string) map[string]bool {
	m := make(map[string]bool, len(values))
	for _, v := range values {
		m[v] = true
	}
	return m
}

func names(m map[string]bool) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// decode fills a typed struct from the walked value. The walk has checked every type, so a failure here is a
// bug; it is still reported, never ignored.
func (p *parser) decode(v any, path string, out any) bool {
	data, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(data, out)
	}
	if err != nil {
		p.w.errorf(p.w.lineOf(path), path, "cannot be decoded: %v", err)
		return false
	}
	return true
}

// build decodes and validates the packages and instances and attaches each package's images to its instances.
func (p *parser) build(packages, items []any, prefix string) []*vnf.Instance {
	images := map[string][]vnf.DeclaredImage{}
	p.images = images
	byVnfd := map[string]*wirePackage{}
	for i, raw := range packages {
		path := index("vnfPackages", i)
		var pkg wirePackage
		if raw == nil || !p.decode(raw, path, &pkg) {
			continue
		}
		if pkg.VnfdID == "" {
			p.missing(path, "vnfdId", "the VNFD id the package's instances name")
			continue
		}
		if _, dup := byVnfd[pkg.VnfdID]; dup {
			p.w.errorf(p.w.lineOf(path+".vnfdId"), path+".vnfdId", "%q is declared by an earlier package too", pkg.VnfdID)
			continue
		}
		byVnfd[pkg.VnfdID] = &pkg
		for j, img := range pkg.Images {
			if d, ok := p.image(index(path+".images", j), img); ok {
				images[pkg.VnfdID] = append(images[pkg.VnfdID], d)
			}
		}
	}

	type claim struct{ id, path string }
	ids := map[string]string{}
	claims := map[[2]string]claim{}
	out := make([]*vnf.Instance, 0, len(items))
	for i, raw := range items {
		path := index(prefix, i)
		var wi wireInstance
		if raw == nil || !p.decode(raw, path, &wi) {
			continue
		}
		inst := &wi.Instance
		ok := p.validate(path, inst)
		if inst.ID != "" {
			if first, dup := ids[inst.ID]; dup {
				p.w.errorf(p.w.lineOf(path+".id"), path+".id", "%q is also the id of %s (line %d)", inst.ID, first, p.w.lineOf(first))
				ok = false
			} else {
				ids[inst.ID] = path
			}
		}
		if wi.X != nil && !p.extension(path+".x-vnfguard", inst, wi.X.ActiveOperation, wi.X.TerminationRequested, wi.X.TerminatedAt) {
			ok = false
		}
		// Two instances naming the same resource in one namespace would make ownership depend on file order.
		ns := vnf.NamespaceOf(inst)
		for _, r := range resources(path, inst) {
			key := [2]string{ns, r.name}
			if c, taken := claims[key]; taken && c.id != inst.ID {
				p.w.errorf(p.w.lineOf(r.path), r.path, "resource %q (namespace %q) is already a resource of instance %s at %s (line %d)", r.name, ns, c.id, c.path, p.w.lineOf(c.path))
				ok = false
				continue
			}
			claims[key] = claim{inst.ID, r.path}
		}
		if !ok {
			continue
		}
		if pkg := byVnfd[inst.VnfdID]; pkg != nil {
			// A VnfInstance copies these from the VNFD; fill them when the file leaves them out, since profiles
			// match on the product name.
			inst.VnfProvider = cmpOr(inst.VnfProvider, pkg.VnfProvider)
			inst.VnfProductName = cmpOr(inst.VnfProductName, pkg.VnfProductName)
			inst.VnfSoftwareVersion = cmpOr(inst.VnfSoftwareVersion, pkg.VnfSoftwareVersion)
		}
		inst.DeclaredImages = append([]vnf.DeclaredImage(nil), images[inst.VnfdID]...)
		out = append(out, inst)
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

type resource struct{ name, path string }

func resources(path string, inst *vnf.Instance) []resource {
	info := inst.InstantiatedVnfInfo
	if info == nil {
		return nil
	}
	var out []resource
	for j, r := range info.VnfcResourceInfo {
		if r.ComputeResource.ResourceID != "" {
			out = append(out, resource{r.ComputeResource.ResourceID, index(path+".instantiatedVnfInfo.vnfcResourceInfo", j) + ".computeResource.resourceId"})
		}
	}
	for _, list := range []struct {
		field string
		items []vnf.StorageResourceInfo
	}{{"virtualStorageResourceInfo", info.VirtualStorageResourceInfo}, {"vnfVirtualStorageResourceInfo", info.VnfVirtualStorageResourceInfo}} {
		for j, r := range list.items {
			if r.StorageResource.ResourceID != "" {
				out = append(out, resource{r.StorageResource.ResourceID, index(path+".instantiatedVnfInfo."+list.field, j) + ".storageResource.resourceId"})
			}
		}
	}
	return out
}

func (p *parser) missing(path, fieldName, what string) {
	if p.w.bad[field(path, fieldName)] {
		return
	}
	p.w.errorf(p.w.lineOf(path), field(path, fieldName), "missing: %s", what)
}

// validate checks one instance's SOL003 fields.
func (p *parser) validate(path string, inst *vnf.Instance) bool {
	n := len(p.w.errs)
	if inst.ID == "" {
		p.missing(path, "id", "the VNF instance id (the value of the instance label on its objects)")
	}
	if inst.VnfdID == "" {
		p.missing(path, "vnfdId", "the id of the VNFD the instance was created from")
	}
	switch inst.InstantiationState {
	case vnf.Instantiated, vnf.NotInstantiated:
	case "":
		p.missing(path, "instantiationState", "INSTANTIATED or NOT_INSTANTIATED")
	default:
		p.w.errorf(p.w.lineOf(path+".instantiationState"), path+".instantiationState", "%q is not a SOL003 instantiation state; want INSTANTIATED or NOT_INSTANTIATED", inst.InstantiationState)
	}
	info := inst.InstantiatedVnfInfo
	if info == nil {
		if inst.InstantiationState == vnf.Instantiated {
			p.missing(path, "instantiatedVnfInfo", "SOL003 requires it when instantiationState is INSTANTIATED (it holds vnfState and the resources)")
		}
		return len(p.w.errs) == n
	}
	ipath := path + ".instantiatedVnfInfo"
	switch info.VnfState {
	case vnf.Started, vnf.Stopped:
	case "":
		p.missing(ipath, "vnfState", "STARTED or STOPPED")
	default:
		p.w.errorf(p.w.lineOf(ipath+".vnfState"), ipath+".vnfState", "%q is not a SOL003 VNF state; want STARTED or STOPPED", info.VnfState)
	}
	for j, r := range info.VnfcResourceInfo {
		rpath := index(ipath+".vnfcResourceInfo", j)
		if r.ID == "" {
			p.missing(rpath, "id", "the VNFC resource id")
		}
		if r.ComputeResource.ResourceID == "" {
			p.missing(rpath, "computeResource.resourceId", "the name of the VNFC's resource (for a CNF, the Pod name)")
		}
	}
	for _, list := range []struct {
		field string
		items []vnf.StorageResourceInfo
	}{{"virtualStorageResourceInfo", info.VirtualStorageResourceInfo}, {"vnfVirtualStorageResourceInfo", info.VnfVirtualStorageResourceInfo}} {
		for j, r := range list.items {
			rpath := index(ipath+"."+list.field, j)
			if r.ID == "" {
				p.missing(rpath, "id", "the storage resource id")
			}
			if r.StorageResource.ResourceID == "" {
				p.missing(rpath, "storageResource.resourceId", "the name of the storage resource (for a CNF, the PersistentVolumeClaim name)")
			}
		}
	}
	return len(p.w.errs) == n
}

// extension applies and checks the x-vnfguard block.
func (p *parser) extension(path string, inst *vnf.Instance, op *vnf.ActiveOperation, terminationRequested bool, terminatedAt string) bool {
	n := len(p.w.errs)
	inst.TerminationRequested = terminationRequested
	if terminatedAt != "" {
		t, err := time.Parse(time.RFC3339, terminatedAt)
		if err != nil {
			p.w.errorf(p.w.lineOf(path+".terminatedAt"), path+".terminatedAt", "%q is not an RFC 3339 time (e.g. 2025-01-31T12:00:00Z)", terminatedAt)
		} else {
			inst.TerminatedAt = &t
		}
	}
	if op != nil {
		opath := path + ".activeOperation"
		switch {
		case op.Operation == "":
			p.missing(opath, "operation", "the SOL003 LCM operation ("+names(lcmOperations)+")")
		case !lcmOperations[op.Operation]:
			p.w.errorf(p.w.lineOf(opath+".operation"), opath+".operation", "%q is not a SOL003 LCM operation; want one of %s", op.Operation, names(lcmOperations))
		}
		switch {
		case op.State == "":
			p.missing(opath, "operationState", "the SOL003 operation state ("+names(lcmStates)+")")
		case !lcmStates[op.State]:
			p.w.errorf(p.w.lineOf(opath+".operationState"), opath+".operationState", "%q is not a SOL003 operation state; want one of %s", op.State, names(lcmStates))
		}
		// A finished operation is history, not a reason to let the VNFM's controllers act ahead of the state.
		if !lcmFinalStates[op.State] {
			inst.ActiveOperation = op
		}
	}
	return len(p.w.errs) == n
}

// image checks one declared image: a reference go-containerregistry parses, and a sha256 digest.
func (p *parser) image(path string, img wireImage) (vnf.DeclaredImage, bool) {
	if img.Image == "" {
		p.missing(path, "image", "the image reference, e.g. registry.example.com/5gc/upf@sha256:<64 hex>")
		return vnf.DeclaredImage{}, false
	}
	ref, err := name.ParseReference(img.Image)
	if err != nil {
		p.w.errorf(p.w.lineOf(path+".image"), path+".image", "%q is not an image reference: %v", img.Image, err)
		return vnf.DeclaredImage{}, false
	}
	digest := ""
	if d, ok := ref.(name.Digest); ok {
		digest = d.DigestStr()
		if !validDigest(digest) {
			p.w.errorf(p.w.lineOf(path+".image"), path+".image", "digest %q is not sha256:<64 lowercase hex>", digest)
			return vnf.DeclaredImage{}, false
		}
	}
	if img.Digest != "" {
		if !validDigest(img.Digest) {
			p.w.errorf(p.w.lineOf(path+".digest"), path+".digest", "%q is not sha256:<64 lowercase hex>", img.Digest)
			return vnf.DeclaredImage{}, false
		}
		if digest != "" && digest != img.Digest {
			p.w.errorf(p.w.lineOf(path+".digest"), path+".digest", "%s differs from the digest in the image reference (%s)", img.Digest, digest)
			return vnf.DeclaredImage{}, false
		}
		digest = img.Digest
	}
	return vnf.DeclaredImage{Name: img.Name, Image: img.Image, Digest: digest}, true
}

func validDigest(d string) bool {
	hexPart, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hexPart) != 64 {
		return false
	}
	for _, c := range hexPart {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
