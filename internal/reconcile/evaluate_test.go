package reconcile

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

const ns = "vnf"

func TestEvaluate(t *testing.T) {
	upf := instance("upf-1", "UPF", ns, "INSTANTIATED", pods("upf-7d9c5b6f4-00000", "upf-7d9c5b6f4-00001"))
	stopped := instance("smf-1", "SMF", ns, "STOPPED", pods("smf-7d9c5b6f4-00000"), pvcs("smf-data"))
	terminated := instance("amf-1", "AMF", ns, "NOT_INSTANTIATED", pvcs("amf-data"), terminatedAt(t0.Add(-30*time.Minute)))
	udr := instance("udr-1", "UDR", ns, "INSTANTIATED", pods("udr-0", "udr-1"), pvcs("data-udr-0", "data-udr-1"))
	// gone was in the inventory when its objects were created, and has been deleted since.
	gone := instance("gone-1", "MME", ns, "NOT_INSTANTIATED", pvcs("gone-data"))
	past := vnf.NewSnapshot("test", "v1", t0.Add(-2*time.Hour), []*vnf.Instance{gone})

	cat := func(parts ...[]Object) []Object { return slices.Concat(parts...) }
	for _, tt := range []struct {
		name      string
		instances []*vnf.Instance
		objects   []Object
		history   bool // a historian whose first snapshot knew gone-1
		want      []string
		check     func(t *testing.T, fs []finding.Finding)
	}{
		{
			name:      "Deployment → ReplicaSet → Pod with the label on the Deployment only, as Tacker sets it",
			instances: []*vnf.Instance{upf},
			objects:   deployment(ns, "upf", 2, label("upf-1")),
		},
		{
			name:      "an unlabelled Deployment is one rogue finding on the Deployment, not one per pod",
			instances: []*vnf.Instance{upf},
			objects:   cat(deployment(ns, "upf", 2, label("upf-1")), deployment(ns, "miner", 3)),
			want:      []string{"reconcile-rogue high Deployment vnf/miner"},
			check: func(t *testing.T, fs []finding.Finding) {
				f := fs[0]
				if f.Evidence["pods"] != "3" || f.Evidence["objects"] != "5" || f.Evidence["age"] != "1h0m0s" {
					t.Errorf("evidence %v: want pods 3, objects 5, age 1h0m0s", f.Evidence)
				}
				if f.Technique != finding.MaliciousVNFInstantiation || !slices.Equal(f.Mitigations, []string{"M1047", "DS0014", "DS0032"}) || f.Source != "reconcile" || f.Action != "reported" {
					t.Errorf("technique %s, mitigations %v, source %s, action %s", f.Technique, f.Mitigations, f.Source, f.Action)
				}
				if !strings.Contains(f.Evidence["reason"], "no tacker_vnf_instance_id label") {
					t.Errorf("reason %q does not say why", f.Evidence["reason"])
				}
			},
		},
		{
			name:      "a bare pod named as a resourceId belongs to its instance",
			instances: []*vnf.Instance{udr},
			objects:   []Object{object(KindPod, ns, "udr-0"), object(KindPod, ns, "udr-1"), object(KindPersistentVolumeClaim, ns, "data-udr-0"), object(KindPersistentVolumeClaim, ns, "data-udr-1")},
		},
		{
			name:      "an unlabelled StatefulSet whose pods the instance names is not rogue",
			instances: []*vnf.Instance{udr},
			objects: []Object{object(KindStatefulSet, ns, "udr"), object(KindPod, ns, "udr-0", ownedBy(KindStatefulSet, "udr")),
				object(KindPod, ns, "udr-1", ownedBy(KindStatefulSet, "udr")), object(KindPersistentVolumeClaim, ns, "data-udr-0"), object(KindPersistentVolumeClaim, ns, "data-udr-1")},
		},
		{
			name:      "a member bound to a known instance outweighs another member's claim to an unknown one",
			instances: []*vnf.Instance{udr},
			objects: []Object{object(KindStatefulSet, ns, "udr"), object(KindPod, ns, "udr-0", ownedBy(KindStatefulSet, "udr")),
				object(KindPod, ns, "aaa", ownedBy(KindStatefulSet, "udr"), label("made-up")), object(KindPod, ns, "udr-1", ownedBy(KindStatefulSet, "udr")),
				object(KindPersistentVolumeClaim, ns, "data-udr-0"), object(KindPersistentVolumeClaim, ns, "data-udr-1")},
		},
		{
			name:      "a bare unlabelled pod is rogue",
			instances: []*vnf.Instance{upf},
			objects:   cat(deployment(ns, "upf", 2, label("upf-1")), []Object{object(KindPod, ns, "peirates")}),
			want:      []string{"reconcile-rogue high Pod vnf/peirates"},
		},
		{
			name:      "a pod whose owner is gone is judged alone",
			instances: []*vnf.Instance{upf},
			objects:   cat(deployment(ns, "upf", 2, label("upf-1")), []Object{object(KindPod, ns, "orphan", ownedBy(KindReplicaSet, "deleted"))}),
			want:      []string{"reconcile-rogue high Pod vnf/orphan"},
		},
		{
			name:      "a CronJob → Job → Pod chain is one finding on the CronJob",
			instances: []*vnf.Instance{upf},
			objects: cat(deployment(ns, "upf", 2, label("upf-1")), []Object{object(KindCronJob, ns, "exfil"),
				object(KindJob, ns, "exfil-28911", ownedBy(KindCronJob, "exfil")), object(KindPod, ns, "exfil-28911-abcde", ownedBy(KindJob, "exfil-28911"))}),
			want: []string{"reconcile-rogue high CronJob vnf/exfil"},
		},
		{
			name:      "claiming an instance the inventory does not know and never knew is rogue",
			instances: []*vnf.Instance{upf},
			objects:   cat(deployment(ns, "upf", 2, label("upf-1")), deployment(ns, "fake", 1, label("made-up"))),
			history:   true,
			want:      []string{"reconcile-rogue high Deployment vnf/fake made-up"},
			check: func(t *testing.T, fs []finding.Finding) {
				if fs[0].Evidence["claimedInstance"] != "made-up" || !strings.Contains(fs[0].Message, "unknown to the inventory") {
					t.Errorf("message %q evidence %v", fs[0].Message, fs[0].Evidence)
				}
			},
		},
		{
			name:      "pods and data of an instance deleted since, known in history: zombie and residual, not rogue",
			instances: []*vnf.Instance{upf},
			objects: cat(deployment(ns, "upf", 2, label("upf-1")), deployment(ns, "mme", 1, label("gone-1")),
				[]Object{object(KindPersistentVolumeClaim, ns, "gone-data"), object(KindSecret, ns, "mme-keys", label("gone-1"), created(t0.Add(-3*time.Hour)))}), // older than any snapshot remembered
			history: true,
			want: []string{"reconcile-residual high PersistentVolumeClaim vnf/gone-data gone-1", "reconcile-residual high Secret vnf/mme-keys gone-1",
				"reconcile-zombie critical Pod vnf/mme-7d9c5b6f4-00000 gone-1"},
			check: func(t *testing.T, fs []finding.Finding) {
				for _, f := range fs {
					if f.Evidence["instanceState"] != "DELETED" || !strings.Contains(f.Message, "since deleted from the inventory") {
						t.Errorf("%s: state %q message %q: want the deletion said", f.Object, f.Evidence["instanceState"], f.Message)
					}
				}
			},
		},
		{
			name:      "the same objects without history are rogue: nothing says the instance ever existed",
			instances: []*vnf.Instance{upf},
			objects:   cat(deployment(ns, "upf", 2, label("upf-1")), deployment(ns, "mme", 1, label("gone-1"))),
			want:      []string{"reconcile-rogue high Deployment vnf/mme gone-1"},
		},
		{
			name:      "STOPPED: pods are zombies (high), data is legitimate",
			instances: []*vnf.Instance{stopped},
			objects: cat(deployment(ns, "smf", 1, label("smf-1")), []Object{object(KindPersistentVolumeClaim, ns, "smf-data"),
				object(KindSecret, ns, "smf-keys", label("smf-1")), object(KindConfigMap, ns, "smf-conf", label("smf-1"))}),
			want: []string{"reconcile-zombie high Pod vnf/smf-7d9c5b6f4-00000 smf-1"},
		},
		{
			name:      "NOT_INSTANTIATED: pods are zombies (critical) and every kind of data is residual",
			instances: []*vnf.Instance{terminated},
			objects: cat(deployment(ns, "amf", 1, label("amf-1")), []Object{
				object(KindPersistentVolumeClaim, ns, "amf-data"),
				object(KindSecret, ns, "amf-keys", label("amf-1")),
				object(KindConfigMap, ns, "amf-conf", label("amf-1")),
				object(KindService, ns, "amf", label("amf-1")),
				object(KindVolumeSnapshot, ns, "amf-snap", snapshotOf("amf-data")),
				object(KindConfigMap, ns, "kube-root-ca.crt"),
			}),
			want: []string{
				"reconcile-residual high PersistentVolumeClaim vnf/amf-data amf-1", "reconcile-residual high Secret vnf/amf-keys amf-1",
				"reconcile-residual medium ConfigMap vnf/amf-conf amf-1", "reconcile-residual medium Service vnf/amf amf-1",
				"reconcile-residual high VolumeSnapshot vnf/amf-snap amf-1", "reconcile-zombie critical Pod vnf/amf-7d9c5b6f4-00000 amf-1",
			},
			check: func(t *testing.T, fs []finding.Finding) {
				for _, f := range fs {
					if f.Rule == RuleResidual && (f.Evidence["terminatedFor"] != "30m0s" || f.Evidence["age"] != "1h0m0s") {
						t.Errorf("%s: evidence %v: want age 1h0m0s and terminatedFor 30m0s", f.Object, f.Evidence)
					}
					if f.Technique != finding.AccessingTerminatedVNF || f.VNFProduct != "AMF" || !strings.Contains(f.Message, "amf-1 (AMF, NOT_INSTANTIATED)") {
						t.Errorf("%s: technique %s product %s message %q", f.Object, f.Technique, f.VNFProduct, f.Message)
					}
				}
			},
		},
		{
			name:      "Retain PVs of a terminated instance are residual (by claimRef or label); Delete PVs and others' are not",
			instances: []*vnf.Instance{terminated, upf, instance("old-1", "MME", "unprotected", "NOT_INSTANTIATED", pvcs("old-data"))},
			objects: cat(deployment(ns, "upf", 2, label("upf-1")), []Object{
				object(KindPersistentVolume, "", "pv-unprotected", pv("Retain", "unprotected", "old-data")),
				object(KindPersistentVolume, "", "pv-claimed", pv("Retain", ns, "amf-data")),
				object(KindPersistentVolume, "", "pv-labelled", pv("Retain", "", ""), label("amf-1")),
				object(KindPersistentVolume, "", "pv-delete", pv("Delete", ns, "amf-data")),
				object(KindPersistentVolume, "", "pv-other", pv("Retain", ns, "someone-elses")),
			}),
			want: []string{"reconcile-residual high PersistentVolume pv-claimed amf-1", "reconcile-residual high PersistentVolume pv-labelled amf-1"},
			check: func(t *testing.T, fs []finding.Finding) {
				if fs[0].Evidence["reclaimPolicy"] != "Retain" || fs[0].Evidence["claim"] != "vnf/amf-data" || fs[0].Object.APIVersion != "v1" {
					t.Errorf("evidence %v object %+v", fs[0].Evidence, fs[0].Object)
				}
			},
		},
		{
			name: "an instance with an active operation is skipped: no zombie, residual or drift",
			instances: []*vnf.Instance{
				instance("inst-2", "UPF", ns, "NOT_INSTANTIATED", operating("INSTANTIATE")),
				instance("scale-1", "UPF", ns, "INSTANTIATED", pods("scale-new-0"), operating("SCALE")),
			},
			objects: cat(deployment(ns, "upf2", 1, label("inst-2")), []Object{object(KindSecret, ns, "upf2-keys", label("inst-2"))}),
		},
		{
			name:      "objects being deleted within the grace period are ignored; stuck ones are judged",
			instances: []*vnf.Instance{upf},
			objects: cat(deployment(ns, "upf", 2, label("upf-1")), []Object{
				object(KindPod, ns, "leaving", deleting(t0.Add(20*time.Second))), // a pod's deletionTimestamp is the end of its grace
				object(KindPod, ns, "stuck", deleting(t0.Add(-10*time.Minute))),
			}, deployment(ns, "going", 2, deleting(t0.Add(-time.Second)))),
			want: []string{"reconcile-rogue high Pod vnf/stuck"},
			check: func(t *testing.T, fs []finding.Finding) {
				if fs[0].Evidence["deletionTimestamp"] == "" {
					t.Errorf("a stuck object's evidence must say it is being deleted: %v", fs[0].Evidence)
				}
			},
		},
		{
			name: "drift: a STARTED instance's missing pod and PVC; a STOPPED one's missing PVC only",
			instances: []*vnf.Instance{
				instance("upf-1", "UPF", ns, "INSTANTIATED", pods("upf-7d9c5b6f4-00000", "upf-gone"), pvcs("upf-data")),
				instance("smf-1", "SMF", ns, "STOPPED", pods("smf-old"), pvcs("smf-data")),
				instance("elsewhere", "AMF", "unprotected", "INSTANTIATED", pods("amf-0")),
				instance("amf-1", "AMF", ns, "NOT_INSTANTIATED", pods("amf-old"), pvcs("amf-old-data")),
			},
			objects: deployment(ns, "upf", 1, label("upf-1")),
			want: []string{"reconcile-drift medium Pod vnf/upf-gone upf-1", "reconcile-drift medium PersistentVolumeClaim vnf/upf-data upf-1",
				"reconcile-drift medium PersistentVolumeClaim vnf/smf-data smf-1"},
			check: func(t *testing.T, fs []finding.Finding) {
				for _, f := range fs {
					if f.Technique != finding.MaliciousVNFInstantiation || f.Evidence["declaredAs"] == "" || f.Evidence["reason"] == "" {
						t.Errorf("%s: technique %s evidence %v", f.Object, f.Technique, f.Evidence)
					}
				}
			},
		},
		{
			name:      "objects outside protected namespaces are not judged",
			instances: []*vnf.Instance{upf},
			objects:   cat(deployment(ns, "upf", 2, label("upf-1")), deployment("kube-system", "coredns", 2)),
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snap := vnf.NewSnapshot("test", "v2", t0.Add(-time.Minute), tt.instances)
			var hist vnf.Historian
			if tt.history {
				hist = newHistorian(past, snap)
			}
			state := NewState([]string{ns}, tt.objects)
			got := Evaluate(snap, hist, state, DefaultOptions(), t0)
			if !slices.Equal(sorted(summary(got)), sorted(tt.want)) {
				t.Fatalf("findings:\n  %s\nwant:\n  %s", strings.Join(summary(got), "\n  "), strings.Join(tt.want, "\n  "))
			}
			for _, f := range got {
				if f.ID != finding.Key(f.Rule, f.Object, f.VNFInstance) || f.Source != Source || f.Message == "" || f.Evidence["reason"] == "" {
					t.Errorf("%s %s: ID %s, source %q, message %q, reason %q", f.Rule, f.Object, f.ID, f.Source, f.Message, f.Evidence["reason"])
				}
			}
			if tt.check != nil && len(got) > 0 {
				tt.check(t, got)
			}
		})
	}
}

// TestEvaluateDeterministic feeds the same objects in different orders and expects the same, sorted output.
func TestEvaluateDeterministic(t *testing.T) {
	inst := instance("amf-1", "AMF", ns, "NOT_INSTANTIATED", pvcs("amf-data"))
	objs := slices.Concat(deployment(ns, "rogue", 3), deployment(ns, "amf", 3, label("amf-1")),
		[]Object{object(KindPersistentVolumeClaim, ns, "amf-data"), object(KindPod, ns, "bare")})
	snap := vnf.NewSnapshot("test", "v", t0, []*vnf.Instance{inst})
	fs := Evaluate(snap, nil, NewState([]string{ns}, slices.Clone(objs)), DefaultOptions(), t0)
	first := summary(fs)
	if len(first) != 6 {
		t.Fatalf("want 2 rogue, 3 zombie and 1 residual findings, got %v", first)
	}
	if !slices.IsSortedFunc(fs, func(a, b finding.Finding) int {
		return strings.Compare(a.Rule+" "+a.Object.Namespace+" "+a.Object.Kind+" "+a.Object.Name, b.Rule+" "+b.Object.Namespace+" "+b.Object.Kind+" "+b.Object.Name)
	}) {
		t.Errorf("not sorted by rule, namespace, kind, name: %v", first)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 10; i++ {
		shuffled := slices.Clone(objs)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		if got := summary(Evaluate(snap, nil, NewState([]string{ns}, shuffled), DefaultOptions(), t0)); !slices.Equal(got, first) {
			t.Fatalf("order %d gives\n%v\nwant\n%v", i, got, first)
		}
	}
}

func TestEvaluateUnloadedInventory(t *testing.T) {
	state := NewState([]string{ns}, deployment(ns, "rogue", 1))
	if got := Evaluate(vnf.Empty("test"), nil, state, DefaultOptions(), t0); got != nil {
		t.Errorf("an inventory never loaded must give no findings (everything would be rogue), got %v", summary(got))
	}
	if got := Evaluate(vnf.NewSnapshot("test", "v", t0, nil), nil, state, DefaultOptions(), t0); len(got) != 1 {
		t.Errorf("a loaded empty inventory makes the Deployment rogue, got %v", summary(got))
	}
}

func TestEvaluateCustomLabel(t *testing.T) {
	inst := instance("upf-1", "UPF", ns, "INSTANTIATED")
	objs := []Object{object(KindDeployment, ns, "upf", func(o *Object) { o.Labels = map[string]string{"example.com/vnf": "upf-1"} })}
	snap := vnf.NewSnapshot("test", "v", t0, []*vnf.Instance{inst})
	opts := DefaultOptions()
	if got := Evaluate(snap, nil, NewState([]string{ns}, slices.Clone(objs)), opts, t0); len(got) != 1 {
		t.Errorf("with the default label the Deployment is rogue, got %v", summary(got))
	}
	opts.InstanceLabel = "example.com/vnf"
	if got := Evaluate(snap, nil, NewState([]string{ns}, slices.Clone(objs)), opts, t0); len(got) != 0 {
		t.Errorf("with the configured label it belongs to upf-1, got %v", summary(got))
	}
}

// With a cluster name every finding carries it, and its ID differs from the unnamed cluster's, so that a tracker
// fed the open findings of a store other clusters share compares like with like.
func TestEvaluateNamesTheCluster(t *testing.T) {
	state := NewState([]string{ns}, deployment(ns, "rogue", 1))
	snap := vnf.NewSnapshot("test", "v", t0, nil)
	plain := Evaluate(snap, nil, state, DefaultOptions(), t0)
	opts := DefaultOptions()
	opts.Cluster = "edge-east"
	named := Evaluate(snap, nil, state, opts, t0)
	if len(plain) != 1 || len(named) != 1 {
		t.Fatalf("want one rogue finding each, got %v and %v", summary(plain), summary(named))
	}
	if named[0].Cluster != "edge-east" || named[0].ID == plain[0].ID || plain[0].Cluster != "" {
		t.Errorf("named %+v, plain %+v", named[0], plain[0])
	}
	tr := NewTracker(0, named)
	if opened, resolved := tr.Update(Evaluate(snap, nil, state, opts, t0), t0); len(opened)+len(resolved) != 0 {
		t.Errorf("the same condition reopened after a restart: opened %v, resolved %v", summary(opened), summary(resolved))
	}
}
