package finding

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Severity orders findings; the zero value is Info.
type Severity int

// Severities from least to most urgent.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name (case-insensitive).
func ParseSeverity(text string) (Severity, error) {
	for i, name := range severityNames {
		if strings.EqualFold(text, name) {
			return Severity(i), nil
		}
	}
	return Info, fmt.Errorf("unknown severity %q: want one of %s", text, strings.Join(severityNames[:], ", "))
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(text []byte) error {
	v, err := ParseSeverity(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ObjectRef names a Kubernetes object.
type ObjectRef struct {
	APIVersion  string `json:"apiVersion,omitempty"`
	Kind        string `json:"kind,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Name        string `json:"name,omitempty"`
	Subresource string `json:"subresource,omitempty"`
}

func (r ObjectRef) String() string {
	var b strings.Builder
	b.WriteString(r.Kind)
	b.WriteByte(' ')
	if r.Namespace != "" {
		b.WriteString(r.Namespace)
		b.WriteByte('/')
	}
	b.WriteString(r.Name)
	if r.Subresource != "" {
		b.WriteByte('/')
		b.WriteString(r.Subresource)
	}
	return b.String()
}

// Finding is one thing vnfguard saw: what happened, which FiGHT technique it serves, which mitigation applies, how
// urgent it is, which VNF instance it concerns, and the evidence behind it.
type Finding struct {
	// ID is a stable key for deduplication: the same rule on the same object and instance (and cluster) gives the
	// same ID.
	ID string `json:"id"`
	// Cluster names the Kubernetes cluster the finding comes from (config clusterName); empty when unnamed.
	Cluster     string    `json:"cluster,omitempty"`
	Time        time.Time `json:"time"`
	Source      string    `json:"source"` // admission, audit, reconcile, posture
	Rule        string    `json:"rule"`   // the check or rule that produced it
	Technique   string    `json:"technique"`
	Mitigations []string  `json:"mitigations,omitempty"`
	Severity    Severity  `json:"severity"`
	// Action says what vnfguard did: denied, warned, audited, allowed (e.g. a recorded break-glass use), error.
	Action      string            `json:"action,omitempty"`
	Message     string            `json:"message"`
	VNFInstance string            `json:"vnfInstance,omitempty"`
	VNFProduct  string            `json:"vnfProduct,omitempty"`
	Identity    string            `json:"identity,omitempty"`
	Object      ObjectRef         `json:"object"`
	Evidence    map[string]string `json:"evidence,omitempty"`
	// FirstSeen, LastSeen and Count aggregate repeats of the same finding (same ID) within a window; a store
	// fills them in. A finding as first produced has Count 0 or 1 and both times equal to Time.
	FirstSeen time.Time `json:"firstSeen,omitzero"`
	LastSeen  time.Time `json:"lastSeen,omitzero"`
	Count     int       `json:"count,omitempty"`
	// Resolved is when the condition behind the finding cleared (reconciliation findings resolve themselves);
	// zero while it holds.
	Resolved time.Time `json:"resolved,omitzero"`
}

// Key computes the deduplication ID from the rule, the object and the instance: the first 12 bytes of the SHA-256
// of the six parts, each followed by a zero byte, in hex. The parts are hashed from one buffer (on the stack for
// the usual lengths) rather than through a hash.Hash, which costs allocations for every finding detection makes.
func Key(rule string, obj ObjectRef, instance string) string {
	parts := [...]string{rule, obj.Kind, obj.Namespace, obj.Name, obj.Subresource, instance}
	var stack [256]byte
	buf := stack[:0]
	for _, part := range parts {
		buf = append(append(buf, part...), 0)
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:12])
}

// InCluster names the cluster of every finding that has none yet, and makes its ID the cluster's own: two
// clusters that share a store never merge their findings. An empty cluster changes nothing, so that the findings
// of a single unnamed cluster keep the IDs they always had.
func InCluster(findings []Finding, cluster string) {
	if cluster == "" {
		return
	}
	for i := range findings {
		f := &findings[i]
		if f.Cluster != "" {
			continue
		}
		f.Cluster = cluster
		h := sha256.New()
		h.Write([]byte(cluster))
		h.Write([]byte{0})
		h.Write([]byte(f.ID))
		f.ID = hex.EncodeToString(h.Sum(nil)[:12])
	}
}

// JSONLine renders the finding as one line of JSON, for JSONL outputs.
func (f *Finding) JSONLine() ([]byte, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode finding %s: %w", f.Rule, err)
	}
	return append(b, '\n'), nil
}
