package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/store"
)

// findings list --cluster shows one cluster's findings of a store several clusters share.
func TestFindingsListByCluster(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "findings.db")
	st, err := store.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(cluster string) finding.Finding {
		fs := []finding.Finding{{Time: time.Now(), Rule: "exec-into-vnf", Technique: finding.AccessingTerminatedVNF, Severity: finding.Critical,
			Message: "exec", Object: finding.ObjectRef{Kind: "Pod", Namespace: "core", Name: "upf-0"}}}
		fs[0].ID = finding.Key(fs[0].Rule, fs[0].Object, "")
		finding.InCluster(fs, cluster)
		return fs[0]
	}
	if err := st.Record(context.Background(), []finding.Finding{mk("edge-east"), mk("edge-west")}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, errOut := runCLI(t, "findings", "list", "--store", dsn, "--cluster", "edge-west", "-o", "json")
	if code != exitClean {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got []finding.Finding
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(got) != 1 || got[0].Cluster != "edge-west" {
		t.Errorf("--cluster edge-west listed %+v", got)
	}
}
