package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/detect/corpus"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/lab"
)

// RecordCorpusEnv, when set to a directory, makes TestCorpus record the run there (the corpus the unit test
// internal/detect/corpus replays: VNFGUARD_RECORD_CORPUS=$PWD/internal/detect/corpus/testdata).
const RecordCorpusEnv = "VNFGUARD_RECORD_CORPUS"

// liveAudit returns vnfguard's audit findings of events since the scenario began, once they have stopped coming
// (nothing new for a second, at most 15 s).
func liveAudit(t *testing.T) []finding.Finding {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	last := -1
	for {
		n := suite.env.Guard.FindingCount()
		if n == last || time.Now().After(deadline) {
			break
		}
		last = n
		time.Sleep(time.Second)
	}
	var out []finding.Finding
	for _, f := range suite.env.Guard.Findings() {
		if f.Source == "audit" && !f.Time.Before(suite.scenarioStart) {
			out = append(out, f)
		}
	}
	return out
}

// TestCorpus: the labelled corpus from the real control plane. Live detection leaves no finding in any benign
// window (the VNFM's lifecycle, ordinary administration) and every procedure's expected findings, with their
// techniques, in its window. With VNFGUARD_RECORD_CORPUS set it records the corpus.
func TestCorpus(t *testing.T) {
	run(t)
	if suite.corpusErr != nil {
		t.Fatal(suite.corpusErr)
	}
	procedures := 0
	for _, w := range suite.windows {
		if !w.Benign {
			procedures++
		}
	}
	if procedures < 5 || len(suite.windows)-procedures < 10 {
		t.Fatalf("%d procedures and %d benign windows: the corpus run is incomplete", procedures, len(suite.windows)-procedures)
	}
	live := liveAudit(t)
	for _, p := range corpus.Check(suite.windows, live) {
		t.Error(p)
	}
	t.Logf("%d windows (%d procedures), %d audit findings since the scenario began", len(suite.windows), procedures, len(live))
	if dir := os.Getenv(RecordCorpusEnv); dir != "" && !t.Failed() {
		if err := corpus.Write(dir, suite.env.CP.AuditLogFile, suite.env.Guard.HistoryFile, suite.env.Guard.ConfigPath, lab.VNFGuard, suite.windows); err != nil {
			t.Fatal(err)
		}
		t.Logf("corpus recorded in %s", dir)
	}
}

// TestOfflineMatchesLive: the API server's audit log of the same run, judged by `vnfguard detect --file
// --inventory-history` with the history the live vnfguard recorded, gives the same findings as live detection —
// the same events, rules, VNF instances, and lifecycle states at the time of each event.
func TestOfflineMatchesLive(t *testing.T) {
	run(t)
	live := liveAudit(t)
	var offline []finding.Finding
	for _, f := range detectOffline(t, "--config", suite.env.Guard.ConfigPath, "--inventory-history", suite.env.Guard.HistoryFile) {
		if !f.Time.Before(suite.scenarioStart) {
			offline = append(offline, f)
		}
	}
	key := func(f finding.Finding) string {
		return strings.Join([]string{f.Evidence["auditID"], f.Rule, f.VNFInstance, f.Evidence["vnfState"]}, " ")
	}
	// The one difference allowed, and named: Secrets and ConfigMaps are logged at Metadata (their bodies must not
	// reach the audit log), so offline their labels are unknown and a read of a dormant VNF's Secret is reported
	// for its dormant namespace, without the instance the live cluster view named. Both sides must still report the
	// same event with the same rule.
	for _, side := range []struct {
		name        string
		mine, other []finding.Finding
	}{{"live", live, offline}, {"offline", offline, live}} {
		otherKeys, otherEvents := map[string]bool{}, map[string]bool{}
		for _, f := range side.other {
			otherKeys[key(f)], otherEvents[f.Evidence["auditID"]+" "+f.Rule] = true, true
		}
		for _, f := range side.mine {
			switch {
			case otherKeys[key(f)]:
			case (f.Object.Kind == "Secret" || f.Object.Kind == "ConfigMap") && otherEvents[f.Evidence["auditID"]+" "+f.Rule]:
				t.Logf("%s: %s %s judged with instance %q (%s); the other side differs only there: the audit log holds no Secret or ConfigMap labels",
					side.name, f.Object.Kind, f.Object.String(), f.VNFInstance, f.Evidence["vnfState"])
			default:
				t.Errorf("%s only: %s", side.name, key(f))
			}
		}
	}
	states := 0
	for _, f := range live {
		if f.Evidence["vnfState"] != "" {
			states++
		}
	}
	if len(live) == 0 || states == 0 {
		t.Fatalf("%d live findings, %d with a lifecycle state: nothing to compare", len(live), states)
	}
	t.Logf("%d findings live, %d offline, %d of them with the lifecycle state of their time", len(live), len(offline), states)
}
