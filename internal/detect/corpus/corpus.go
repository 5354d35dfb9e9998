// Package corpus holds a labelled audit corpus recorded from the real control plane: the API server's audit log
// of the benign VNF lifecycle, ordinary administration and each attack procedure, the inventory history of the
// run, the configuration vnfguard ran with, and the time window of every step with the findings it must leave
// (none for a benign step). Replay judges the log as `vnfguard detect --file --inventory-history` does; Check
// compares findings with the windows. The end-to-end test records it; a unit test replays the recorded copy on
// every run, so a rule change that loses a procedure or adds noise fails without a cluster.
package corpus

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/detect"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// The files of a recorded corpus.
const (
	AuditFile   = "audit.jsonl.gz"
	HistoryFile = "inventory-history.jsonl"
	ConfigFile  = "config.yaml"
	WindowsFile = "windows.json"
)

// Expect is a finding a procedure must leave: its rule and technique.
type Expect struct {
	Rule      string `json:"rule"`
	Technique string `json:"technique"`
}

// Window is one step of the recorded run: who did what, when, and what it must leave.
type Window struct {
	Name     string    `json:"name"`
	Identity string    `json:"identity"`
	Benign   bool      `json:"benign,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Expect   []Expect  `json:"expect,omitempty"`
}

// contains says whether t falls in the window (its edges included).
func (w Window) contains(t time.Time) bool { return !t.Before(w.Start) && !t.After(w.End) }

// Check compares findings with the windows: every expected finding of a procedure is among the findings timed
// inside its window, with its technique; a benign window holds no finding at all. It returns one line per
// problem.
func Check(windows []Window, findings []finding.Finding) []string {
	var problems []string
	for _, w := range windows {
		var in []finding.Finding
		for _, f := range findings {
			if w.contains(f.Time) {
				in = append(in, f)
			}
		}
		if w.Benign {
			for _, f := range in {
				problems = append(problems, fmt.Sprintf("benign step %q (%s): finding %s by %s: %s", w.Name, w.Identity, f.Rule, f.Identity, f.Message))
			}
			continue
		}
		for _, e := range w.Expect {
			if !slices.ContainsFunc(in, func(f finding.Finding) bool { return f.Rule == e.Rule && f.Technique == e.Technique }) {
				var got []string
				for _, f := range in {
					got = append(got, f.Rule+"/"+f.Technique)
				}
				problems = append(problems, fmt.Sprintf("procedure %q (%s): no %s finding with technique %s; the window holds [%s]",
					w.Name, w.Identity, e.Rule, e.Technique, strings.Join(got, " ")))
			}
		}
	}
	return problems
}

// Corpus is a recorded corpus, loaded.
type Corpus struct {
	Events   []*auditv1.Event
	Timeline *vnf.Timeline
	Config   *config.Config
	Windows  []Window
}

// Load reads the corpus in dir; every file must be there and readable, and the errors name the file.
func Load(dir string) (*Corpus, error) {
	c := &Corpus{}
	raw, err := readGzip(filepath.Join(dir, AuditFile))
	if err != nil {
		return nil, err
	}
	if c.Events, err = detect.DecodeEventLines(raw); err != nil {
		return nil, fmt.Errorf("corpus %s: %w", filepath.Join(dir, AuditFile), err)
	}
	if len(c.Events) == 0 {
		return nil, fmt.Errorf("corpus %s: no audit events", filepath.Join(dir, AuditFile))
	}
	if c.Timeline, err = vnf.ReadTimelineFile(filepath.Join(dir, HistoryFile)); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if c.Config, err = config.Load(filepath.Join(dir, ConfigFile)); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, WindowsFile))
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if err := json.Unmarshal(data, &c.Windows); err != nil {
		return nil, fmt.Errorf("corpus %s: %w", filepath.Join(dir, WindowsFile), err)
	}
	if len(c.Windows) == 0 {
		return nil, fmt.Errorf("corpus %s: no windows", filepath.Join(dir, WindowsFile))
	}
	return c, nil
}

func readGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("corpus %s: %w", path, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("corpus %s: %w", path, err)
	}
	return data, nil
}

// Replay judges the corpus's events with the built-in rules, its configuration and its inventory history, as
// `vnfguard detect --file AUDIT --config CONFIG --inventory-history HISTORY` does.
func Replay(ctx context.Context, c *Corpus) ([]finding.Finding, error) {
	rules, err := detect.Builtin()
	if err != nil {
		return nil, err
	}
	engine, err := detect.NewEngine(rules, detect.Env{Config: c.Config, Inventory: c.Timeline})
	if err != nil {
		return nil, err
	}
	var out []finding.Finding
	for _, ev := range c.Events {
		fs, err := engine.Evaluate(ctx, ev)
		if err != nil {
			return out, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

// Noise says whether an audit event is left out of a recorded corpus: reads by the control plane's own components,
// the node simulator and vnfguard, which no rule judges (they are all excluded identities) and which would make
// the corpus ten times larger.
func Noise(ev *auditv1.Event, vnfguardUser string) bool {
	switch ev.Verb {
	case "get", "list", "watch":
	default:
		return false
	}
	switch u := ev.User.Username; {
	case u == "system:kube-controller-manager", u == "system:kube-scheduler", u == "system:apiserver", u == "kwok", u == vnfguardUser:
		return true
	}
	return false
}

// Write records a corpus in dir: the audit log at auditLog without Noise, the inventory history, the
// configuration and the windows.
func Write(dir, auditLog, history, configPath, vnfguardUser string, windows []Window) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	data, err := os.ReadFile(auditLog)
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	kept := 0
	for sc.Scan() {
		line := sc.Bytes()
		var ev auditv1.Event
		if err := json.Unmarshal(line, &ev); err != nil {
			return fmt.Errorf("corpus: audit log %s: %w", auditLog, err)
		}
		if Noise(&ev, vnfguardUser) {
			continue
		}
		zw.Write(line)
		zw.Write([]byte{'\n'})
		kept++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("corpus: audit log %s: %w", auditLog, err)
	}
	if kept == 0 {
		return errors.New("corpus: the audit log holds no event to record")
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, AuditFile), buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	for src, dst := range map[string]string{history: HistoryFile, configPath: ConfigFile} {
		data, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("corpus: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), data, 0o644); err != nil {
			return fmt.Errorf("corpus: %w", err)
		}
	}
	wdata, err := json.MarshalIndent(windows, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, WindowsFile), append(wdata, '\n'), 0o644)
}
