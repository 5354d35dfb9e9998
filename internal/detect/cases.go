package detect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ktypes "k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"sigs.k8s.io/yaml"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// Suite is one rule-test file: the world the events happen in (configuration, VNF inventory, cluster objects)
// and the cases, each a list of audit events and the findings they must produce.
//
//	config: {identities: {vnfm: {users: [tacker]}}}   # optional, a vnfguard Config
//	instances: [ ...SOL003 VnfInstances... ]
//	declaredImages: {vnfd-upf: [{image: "registry.local/upf@sha256:..."}]}   # optional, by vnfdId
//	objects:                                          # the cluster view owners (and namespace labels) are resolved in
//	  - kind: Pod
//	    metadata: {namespace: 5gc, name: upf-0, ownerReferences: [...]}
//	cases:
//	  - name: exec with verb get into a stopped UPF
//	    events: [ {...audit.k8s.io/v1 Event...} ]      # or eventsFile: events.jsonl (relative to the suite)
//	    expect: {exec-dormant-vnf: 1}                 # or expect: none
//
// expect is exact: every rule that fires must be listed with its count. An event without a stage is taken as
// ResponseComplete.
type Suite struct {
	File      string          `json:"-"`
	Config    json.RawMessage `json:"config,omitempty"`
	Instances []*vnf.Instance `json:"instances,omitempty"`
	// DeclaredImages are the images each VNF package declares, by vnfdId (the images: map of the inventory file).
	DeclaredImages map[string][]vnf.DeclaredImage `json:"declaredImages,omitempty"`
	Objects        []CaseObject                   `json:"objects,omitempty"`
	Cases          []Case                         `json:"cases"`
}

// CaseObject is an object of the cluster view.
type CaseObject struct {
	Kind     string            `json:"kind"`
	Metadata metav1.ObjectMeta `json:"metadata"`
}

// Case is one test case.
type Case struct {
	Name       string            `json:"name"`
	Events     []json.RawMessage `json:"events,omitempty"`
	EventsFile string            `json:"eventsFile,omitempty"`
	Expect     json.RawMessage   `json:"expect"`

	events []*auditv1.Event
	want   map[string]int
}

// CaseResult is the outcome of one case.
type CaseResult struct {
	File     string
	Case     string
	Passed   bool
	Want     map[string]int
	Got      map[string]int
	Findings []finding.Finding
	// Problem says why the case failed.
	Problem string
}

// ParseSuite decodes a suite. readFile reads an eventsFile relative to the suite; nil forbids eventsFile.
func ParseSuite(name string, data []byte, readFile func(string) ([]byte, error)) (*Suite, error) {
	s := &Suite{File: name}
	if err := yaml.UnmarshalStrict(data, s); err != nil {
		return nil, fmt.Errorf("rule tests %s: %w", name, err)
	}
	for i := range s.Cases {
		c := &s.Cases[i]
		where := fmt.Sprintf("rule tests %s: case %d (%s)", name, i+1, c.Name)
		if c.Name == "" {
			return nil, fmt.Errorf("%s: name is required", where)
		}
		want, err := parseExpect(c.Expect)
		if err != nil {
			return nil, fmt.Errorf("%s: expect: %w", where, err)
		}
		c.want = want
		for j, raw := range c.Events {
			ev, err := decodeEvent(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: event %d: %w", where, j+1, err)
			}
			c.events = append(c.events, ev)
		}
		if c.EventsFile != "" {
			if readFile == nil {
				return nil, fmt.Errorf("%s: eventsFile %s: no file system to read it from", where, c.EventsFile)
			}
			data, err := readFile(c.EventsFile)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			evs, err := DecodeEventLines(data)
			if err != nil {
				return nil, fmt.Errorf("%s: eventsFile %s: %w", where, c.EventsFile, err)
			}
			c.events = append(c.events, evs...)
		}
		if len(c.events) == 0 {
			return nil, fmt.Errorf("%s: no events", where)
		}
	}
	return s, nil
}

func parseExpect(raw json.RawMessage) (map[string]int, error) {
	if len(raw) == 0 {
		return nil, errors.New("required: a map of rule ids to counts, or none")
	}
	var word string
	if json.Unmarshal(raw, &word) == nil {
		if word == "none" {
			return map[string]int{}, nil
		}
		return nil, fmt.Errorf("%q: want none or a map of rule ids to counts", word)
	}
	var want map[string]int
	if err := json.Unmarshal(raw, &want); err != nil {
		return nil, fmt.Errorf("want none or a map of rule ids to counts: %w", err)
	}
	for id, n := range want {
		if n < 1 {
			return nil, fmt.Errorf("rule %s: count %d: list only rules that fire, with a count of at least 1", id, n)
		}
	}
	return want, nil
}

func decodeEvent(raw []byte) (*auditv1.Event, error) {
	ev := &auditv1.Event{}
	if err := json.Unmarshal(raw, ev); err != nil {
		return nil, fmt.Errorf("not an audit event: %w", err)
	}
	if ev.Stage == "" {
		ev.Stage = auditv1.StageResponseComplete
	}
	return ev, nil
}

// DecodeEventLines decodes JSON lines of audit events (an audit log); blank lines are skipped. The error names the
// line.
func DecodeEventLines(data []byte) ([]*auditv1.Event, error) {
	var out []*auditv1.Event
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		ev, err := decodeEvent(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, ev)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return out, nil
}

// LoadSuites loads every *.yaml file of dir in fsys as a suite; eventsFile paths are relative to dir.
func LoadSuites(fsys fs.FS, dir string) ([]*Suite, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list rule tests in %s: %w", dir, err)
	}
	sort.Strings(names)
	var out []*Suite
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read rule tests: %w", err)
		}
		s, err := ParseSuite(name, data, func(p string) ([]byte, error) { return fs.ReadFile(fsys, path.Join(dir, p)) })
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// LoadSuiteFiles loads suites from files on disk; eventsFile paths are relative to each file.
func LoadSuiteFiles(paths ...string) ([]*Suite, error) {
	var out []*Suite
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read rule tests: %w", err)
		}
		dir := filepath.Dir(p)
		s, err := ParseSuite(p, data, func(f string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, f)) })
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// staticObjects is the cluster view of a suite.
type staticObjects map[string]*metav1.ObjectMeta

func (o staticObjects) Get(_ context.Context, kind, namespace, name string) (metav1.Object, error) {
	if m, ok := o[kind+"/"+namespace+"/"+name]; ok {
		return m, nil
	}
	return nil, vnf.NotFound(kind, namespace, name, "")
}

// Engine builds the engine a suite's cases run in: the rules, with the suite's configuration, inventory and
// objects.
func (s *Suite) Engine(rules []*Rule) (*Engine, error) {
	cfg := config.Default()
	if len(s.Config) > 0 && string(s.Config) != "null" {
		c, err := config.Parse(s.Config)
		if err != nil {
			return nil, fmt.Errorf("rule tests %s: config: %w", s.File, err)
		}
		cfg = c
	}
	objs := staticObjects{}
	for i := range s.Objects {
		o := &s.Objects[i]
		objs[o.Kind+"/"+o.Metadata.Namespace+"/"+o.Metadata.Name] = &o.Metadata
	}
	for _, inst := range s.Instances {
		if inst != nil {
			inst.DeclaredImages = append([]vnf.DeclaredImage(nil), s.DeclaredImages[inst.VnfdID]...)
		}
	}
	inv := vnf.Static{Snap: vnf.NewSnapshot(s.File, "", time.Time{}, s.Instances)}
	return NewEngine(rules, Env{Config: cfg, Inventory: inv, Objects: objs, Namespaces: objs})
}

// Labels implements Namespaces over the suite's objects of kind Namespace.
func (o staticObjects) Labels(_ context.Context, name string) (map[string]string, error) {
	if m, ok := o["Namespace//"+name]; ok {
		return m.Labels, nil
	}
	return nil, vnf.NotFound("Namespace", "", name, "")
}

// RunCases runs the cases of a suite through an engine built by s.Engine. Each case starts from a clean state:
// what the engine remembers of earlier events (pods created with a host takeover, recent denials) is forgotten between cases, so
// that cases are independent of their order.
func RunCases(ctx context.Context, engine *Engine, s *Suite) ([]CaseResult, error) {
	out := make([]CaseResult, 0, len(s.Cases))
	for _, c := range s.Cases {
		engine.pods, engine.denials, engine.memory, engine.namespaces = newPodState(), newDenialState(), newObjectMemory(), newNamespaceMemory()
		engine.opened, engine.writes = newBoundedMap[ktypes.UID, struct{}](maxOpenSessions), newWorkloadWrites()
		res := CaseResult{File: s.File, Case: c.Name, Want: c.want, Got: map[string]int{}}
		for _, ev := range c.events {
			fs, err := engine.Evaluate(ctx, ev)
			if err != nil {
				return out, fmt.Errorf("rule tests %s: case %s: %w", s.File, c.Name, err)
			}
			for _, f := range fs {
				res.Got[f.Rule]++
			}
			res.Findings = append(res.Findings, fs...)
		}
		res.Problem = diffCounts(c.want, res.Got)
		res.Passed = res.Problem == ""
		out = append(out, res)
	}
	return out, nil
}

// RunSuite builds the suite's engine over rules and runs its cases.
func RunSuite(ctx context.Context, rules []*Rule, s *Suite) ([]CaseResult, error) {
	e, err := s.Engine(rules)
	if err != nil {
		return nil, err
	}
	return RunCases(ctx, e, s)
}

func diffCounts(want, got map[string]int) string {
	ids := map[string]bool{}
	for id := range want {
		ids[id] = true
	}
	for id := range got {
		ids[id] = true
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	var diffs []string
	for _, id := range sorted {
		if want[id] != got[id] {
			diffs = append(diffs, fmt.Sprintf("%s: want %d, got %d", id, want[id], got[id]))
		}
	}
	return strings.Join(diffs, "; ")
}
