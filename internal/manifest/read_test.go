package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// summary is one line per object: kind, namespace/name, Go type, and where it came from.
func summary(objs []Object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.String()+" "+reflect.TypeOf(o.Object).String())
	}
	return out
}

func TestReadFiles(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
		want  []string
	}{
		{"multi-document YAML with empty and comment-only documents", []string{"testdata/multi-doc.yaml"}, []string{
			"Namespace vnf-upf (testdata/multi-doc.yaml:3 (document 1)) *v1.Namespace",
			"Deployment vnf-upf/upf (testdata/multi-doc.yaml:10 (document 2)) *v1.Deployment",
			"ReplicaSet vnf-upf/upf-7d9c5b6f4 (testdata/multi-doc.yaml:32 (document 5)) *v1.ReplicaSet",
			"Pod vnf-upf/upf-7d9c5b6f4-abcde (testdata/multi-doc.yaml:49 (document 6)) *v1.Pod",
			"NetworkAttachmentDefinition vnf-upf/n3 (testdata/multi-doc.yaml:63 (document 7)) *unstructured.Unstructured",
		}},
		{"List and typed list expanded", []string{"testdata/list.yaml"}, []string{
			"PersistentVolumeClaim vnf-udr/data-udr-0 (testdata/list.yaml:4 (document 1, item 1)) *v1.PersistentVolumeClaim",
			"Secret vnf-udr/udr-db (testdata/list.yaml:10 (document 1, item 2)) *v1.Secret",
			"Pod vnf-udr/udr-0 (testdata/list.yaml:19 (document 2, item 1)) *v1.Pod",
		}},
		{"JSON array", []string{"testdata/array.json"}, []string{
			"StatefulSet vnf-udr/udr (testdata/array.json:2 (document 1, item 1)) *v1.StatefulSet",
			"Namespace vnf-udr (testdata/array.json:12 (document 1, item 2)) *v1.Namespace",
		}},
		{"directory walk skips hidden entries and other extensions", []string{"testdata/dir"}, []string{
			"ConfigMap a (testdata/dir/a.yaml:1 (document 1)) *v1.ConfigMap",
			"ServiceAccount vnf-smf/b (testdata/dir/b.yml:1 (document 1)) *v1.ServiceAccount",
			"Secret vnf-smf/c (testdata/dir/c.json:1 (document 1)) *v1.Secret",
			"ClusterRole exec-pods (testdata/dir/c.json:2 (document 2)) *v1.ClusterRole",
			"Service vnf-smf/d (testdata/dir/sub/d.yaml:1 (document 1)) *v1.Service",
		}},
		{"several paths keep their order", []string{"testdata/array.json", "testdata/dir/b.yml"}, []string{
			"StatefulSet vnf-udr/udr (testdata/array.json:2 (document 1, item 1)) *v1.StatefulSet",
			"Namespace vnf-udr (testdata/array.json:12 (document 1, item 2)) *v1.Namespace",
			"ServiceAccount vnf-smf/b (testdata/dir/b.yml:1 (document 1)) *v1.ServiceAccount",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := ReadFiles(tt.paths)
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(objs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestReadFilesDecodesTyped(t *testing.T) {
	objs, err := ReadFiles([]string{"testdata/multi-doc.yaml", "testdata/list.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	pod := objs[3].Object.(*corev1.Pod)
	if caps := pod.Spec.Containers[0].SecurityContext.Capabilities.Add; len(caps) != 1 || caps[0] != "NET_ADMIN" {
		t.Errorf("pod capabilities = %v", caps)
	}
	if objs[3].GVK.String() != "/v1, Kind=Pod" {
		t.Errorf("pod GVK = %s", objs[3].GVK)
	}
	deploy := objs[1].Object.(*appsv1.Deployment)
	if deploy.Labels["tacker_vnf_instance_id"] != "7f3c2a10-5d1e-4c1b-9a77-0c6d1e2f3a4b" || *deploy.Spec.Replicas != 1 {
		t.Errorf("deployment = %+v", deploy.ObjectMeta)
	}
	nad := objs[4].Object.(*unstructured.Unstructured)
	if nad.GetNamespace() != "vnf-upf" || objs[4].GVK.Group != "k8s.cni.cncf.io" {
		t.Errorf("NetworkAttachmentDefinition = %v %s", nad.Object, objs[4].GVK)
	}
	// An item of a typed list gets the list's type, in the object and in Raw.
	listPod := objs[7]
	if listPod.GVK.Kind != "Pod" || !strings.Contains(string(listPod.Raw), `"kind":"Pod"`) {
		t.Errorf("PodList item = %s %s", listPod.GVK, listPod.Raw)
	}
	if !strings.Contains(string(objs[3].Raw), `"name":"upf-7d9c5b6f4-abcde"`) {
		t.Errorf("Raw = %s", objs[3].Raw)
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		file     string
		wantObjs int // the objects that could still be read
		want     []string
	}{
		{"no-kind.yaml", 1, []string{
			"testdata/bad/no-kind.yaml:6 (document 2): no apiVersion and no kind: every document must be a Kubernetes object",
			"testdata/bad/no-kind.yaml:9 (document 3): no kind (apiVersion v1)",
			"testdata/bad/no-kind.yaml:12 (document 4): Pod without apiVersion",
		}},
		{"syntax.yaml", 1, []string{
			"testdata/bad/syntax.yaml:9 (document 2): not valid YAML: mapping values are not allowed in this context",
		}},
		{"strict.yaml", 0, []string{
			`testdata/bad/strict.yaml:9 (document 1): Pod vnf-upf/typo: unknown field "spec.containers[0].securityContext.privilegd"`,
			`testdata/bad/strict.yaml:18 (document 2): not valid YAML: duplicate key "image"`,
		}},
		{"list.yaml", 1, []string{
			"testdata/bad/list.yaml:7 (document 1, item 2): no kind (apiVersion v1)",
			"testdata/bad/list.yaml:8 (document 1, item 3): the item is 42, not a Kubernetes object",
		}},
		{"stream.json", 1, []string{
			"testdata/bad/stream.json:3 (document 2): not valid JSON: invalid character ',' looking for beginning of object key string",
		}},
		{"scalars.yaml", 0, []string{
			`testdata/bad/scalars.yaml:1 (document 1): the document is "just a string", not a Kubernetes object`,
			"testdata/bad/scalars.yaml:3 (document 2, item 1): the item is 1, not a Kubernetes object",
			"testdata/bad/scalars.yaml:4 (document 2, item 2): the item is 2, not a Kubernetes object",
		}},
		{"missing.yaml", 0, []string{
			"testdata/bad/missing.yaml: no such file or directory",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			objs, err := ReadFiles([]string{filepath.Join("testdata/bad", tt.file)})
			if err == nil {
				t.Fatalf("no error; objects %v", summary(objs))
			}
			if len(objs) != tt.wantObjs {
				t.Errorf("objects = %v, want %d", summary(objs), tt.wantObjs)
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			var e *Error
			if !errors.As(err, &e) || e.File != filepath.Join("testdata/bad", tt.file) {
				t.Errorf("error is not a *Error for the file: %#v", e)
			}
		})
	}
}

func TestReadEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFiles([]string{dir})
	if err == nil || err.Error() != dir+": the directory holds no *.yaml, *.yml or *.json files" {
		t.Errorf("error = %v", err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, file, data string
		want             []string
		wantErr          string
	}{
		{name: "YAML flow style is not mistaken for JSON", file: "x.yaml", data: "{apiVersion: v1, kind: ConfigMap, metadata: {name: flow}}",
			want: []string{"ConfigMap flow (x.yaml:1 (document 1)) *v1.ConfigMap"}},
		{name: "byte order mark and CRLF", file: "x.yaml", data: "\xef\xbb\xbfapiVersion: v1\r\nkind: ConfigMap\r\nmetadata: {name: crlf}\r\n---\r\napiVersion: v1\r\nkind: ConfigMap\r\nmetadata: {name: two}\r\n",
			want: []string{"ConfigMap crlf (x.yaml:1 (document 1)) *v1.ConfigMap", "ConfigMap two (x.yaml:5 (document 2)) *v1.ConfigMap"}},
		{name: "a YAML sequence of objects", file: "x.yaml", data: "# pods\n- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n-\n  apiVersion: v1\n  kind: Pod\n  metadata: {name: b}\n",
			want: []string{"Pod a (x.yaml:2 (document 1, item 1)) *v1.Pod", "Pod b (x.yaml:4 (document 1, item 2)) *v1.Pod"}},
		{name: "JSON List", file: "x.json", data: "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"metadata\": {},\n \"items\": [\n  {\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"j\"}}]}",
			want: []string{"ConfigMap j (x.json:3 (document 1, item 1)) *v1.ConfigMap"}},
		{name: "empty file", file: "x.yaml", data: "\n# nothing\n", want: []string{}},
		{name: "nested list", file: "x.yaml", data: "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: List, items: []}\n",
			wantErr: "x.yaml:4 (document 1, item 1): a List inside a list: lists do not nest"},
		{name: "kind is not a string", file: "x.yaml", data: "apiVersion: v1\nkind: [Pod]\n",
			wantErr: "x.yaml:1 (document 1): apiVersion and kind must be strings"},
		{name: "bad apiVersion", file: "x.yaml", data: "apiVersion: a/b/c\nkind: Pod\n",
			wantErr: `x.yaml:1 (document 1): apiVersion "a/b/c": unexpected GroupVersion string: a/b/c`},
		{name: "bad JSON file", file: "x.json", data: "{nope",
			wantErr: "x.json:1 (document 1): not valid JSON: invalid character 'n' looking for beginning of object key string"},
		{name: "typed field of the wrong type", file: "x.yaml", data: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: 5}\n",
			wantErr: "x.yaml:1 (document 1): Pod:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Parse([]byte(tt.data), tt.file)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want prefix %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(objs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadStdin(t *testing.T) {
	objs, err := Read(strings.NewReader("apiVersion: v1\nkind: Namespace\nmetadata: {name: from-stdin}\n"), Stdin)
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(objs); len(got) != 1 || got[0] != "Namespace from-stdin (-:1 (document 1)) *v1.Namespace" {
		t.Errorf("got %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/*.yaml", "testdata/*.json", "testdata/bad/*"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, _ := Parse(data, "fuzz.yaml")
		for _, o := range objs {
			if o.Object == nil || o.GVK.Kind == "" || o.Line < 1 {
				t.Fatalf("incomplete object %+v", o)
			}
		}
	})
}
