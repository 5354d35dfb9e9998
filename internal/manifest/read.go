package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	sigsyaml "sigs.k8s.io/yaml"
)

// Stdin is the path that ReadFiles reads from standard input, as kubectl's `-f -`.
const Stdin = "-"

// Object is one Kubernetes object read from a manifest, with where it came from.
type Object struct {
	// Object is typed for the kinds client-go knows (*corev1.Pod, *appsv1.Deployment, ...) and
	// *unstructured.Unstructured for others (CRDs such as NetworkAttachmentDefinition or VolumeSnapshot).
	Object runtime.Object
	GVK    schema.GroupVersionKind
	// Raw is the object as JSON, as an AdmissionReview would carry it.
	Raw []byte
	// File is the path as given or found in a directory walk ("-" for standard input).
	File string
	// Doc is the 1-based index of the YAML document (or JSON value) in the file.
	Doc int
	// Item is the 1-based index of the object within a List or a JSON array; 0 when the document is the object.
	Item int
	// Line is the 1-based line where the document or item starts; 0 when unknown.
	Line int
}

// Meta returns the object's metadata.
func (o Object) Meta() metav1.Object {
	m, _ := o.Object.(metav1.Object)
	if m == nil {
		return &metav1.ObjectMeta{}
	}
	return m
}

// Where says where the object came from: "deploy.yaml:12 (document 2, item 1)".
func (o Object) Where() string {
	return location(o.File, o.Doc, o.Item, o.Line)
}

// String names the object and where it came from: "Deployment vnf-upf/upf (deploy.yaml:12 (document 2))".
func (o Object) String() string {
	m := o.Meta()
	name := m.GetName()
	if ns := m.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	return o.GVK.Kind + " " + name + " (" + o.Where() + ")"
}

func location(file string, doc, item, line int) string {
	var b strings.Builder
	b.WriteString(file)
	if line > 0 {
		b.WriteString(":" + strconv.Itoa(line))
	}
	if doc > 0 {
		b.WriteString(" (document " + strconv.Itoa(doc))
		if item > 0 {
			b.WriteString(", item " + strconv.Itoa(item))
		}
		b.WriteString(")")
	}
	return b.String()
}

// Error is a manifest that could not be read, with where.
type Error struct {
	File string
	Doc  int // 1-based; 0 when the error concerns the whole file
	Item int // 1-based index in a List or array; 0 when none
	Line int // 1-based; 0 when unknown
	Err  error
}

func (e *Error) Error() string { return location(e.File, e.Doc, e.Item, e.Line) + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// decoder decodes JSON into the typed objects of client-go's scheme. It is strict: unknown and duplicate fields
// are errors, as they are for `kubectl apply` against an API server with field validation.
var decoder = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// ReadFiles reads the manifests at paths: files of any name, directories (walked recursively for *.yaml, *.yml
// and *.json; entries whose names start with "." are skipped, such as a ConfigMap volume's ..data), and "-" for
// standard input. Objects come in the order of the paths, of the files within a directory (lexical), and of the
// documents within a file. Empty documents are skipped. The error joins one *Error per bad document or file;
// the objects that could be read are returned with it.
func ReadFiles(paths []string) ([]Object, error) {
	var (
		objects []Object
		errs    []error
	)
	for _, path := range paths {
		if path == Stdin {
			objs, err := Read(os.Stdin, Stdin)
			objects = append(objects, objs...)
			if err != nil {
				errs = append(errs, err)
			}
			continue
		}
		files, err := expand(path)
		if err != nil {
			errs = append(errs, &Error{File: path, Err: err})
			continue
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				errs = append(errs, &Error{File: file, Err: errors.Unwrap(err)})
				continue
			}
			objs, err := Parse(data, file)
			objects = append(objects, objs...)
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return objects, errors.Join(errs...)
}

// expand lists the manifest files of a path: the file itself, or a directory's *.yaml, *.yml and *.json.
func expand(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, errors.Unwrap(err) // *PathError: the path is in the Error already
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != path && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk directory: %w", err)
	}
	if len(files) == 0 {
		return nil, errors.New("the directory holds no *.yaml, *.yml or *.json files")
	}
	return files, nil
}

// Read reads manifests from r; name stands for it in errors.
func Read(r io.Reader, name string) ([]Object, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &Error{File: name, Err: err}
	}
	return Parse(data, name)
}

// Parse reads the manifests in data (YAML documents, or JSON values); file names the source in errors.
func Parse(data []byte, file string) ([]Object, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	r := &reader{file: file, data: data}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		if r.readJSON(strings.EqualFold(filepath.Ext(file), ".json")) {
			return r.objects, errors.Join(r.errs...)
		}
		// Not JSON after all: YAML flow style ({a: b}) starts the same way.
		r.objects, r.errs = nil, nil
	}
	r.readYAML()
	return r.objects, errors.Join(r.errs...)
}

type reader struct {
	file    string
	data    []byte
	objects []Object
	errs    []error
	// fieldLine, while a YAML document is read, finds the line of a field path (spec.containers[0].image) in it.
	fieldLine func(path string) int
}

func (r *reader) fail(doc, item, line int, err error) {
	r.errs = append(r.errs, &Error{File: r.file, Doc: doc, Item: item, Line: line, Err: err})
}

// lineAt is the 1-based line of a byte offset in the file.
func (r *reader) lineAt(offset int) int {
	offset = min(max(offset, 0), len(r.data))
	return bytes.Count(r.data[:offset], []byte("\n")) + 1
}

// readJSON reads a stream of JSON values. Unless the file must be JSON, it returns false when the first value is
// not valid JSON, so that the caller can try YAML.
func (r *reader) readJSON(mustJSON bool) bool {
	dec := json.NewDecoder(bytes.NewReader(r.data))
	for doc := 1; ; doc++ {
		start := skipSpace(r.data, int(dec.InputOffset()))
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			if doc == 1 && !mustJSON {
				return false
			}
			line := r.lineAt(start)
			var syntax *json.SyntaxError
			if errors.As(err, &syntax) {
				line = r.lineAt(int(syntax.Offset))
			}
			r.fail(doc, 0, line, fmt.Errorf("not valid JSON: %w", err))
			return true
		}
		var offsets []int // looked up only for lists
		r.value(raw, doc, r.lineAt(start), func(i int) int {
			if offsets == nil {
				offsets = append(jsonItemOffsets(raw), -1)
			}
			if i < len(offsets)-1 {
				return r.lineAt(start + offsets[i])
			}
			return r.lineAt(start)
		})
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r' || data[i] == ',') {
		i++
	}
	return i
}

// jsonItemOffsets returns the offsets of the elements of a JSON array, or of the array under "items" of an object.
func jsonItemOffsets(raw []byte) []int {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil
	}
	switch tok {
	case json.Delim('['):
		return arrayOffsets(dec, raw)
	case json.Delim('{'):
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return nil
			}
			if key == "items" {
				if t, err := dec.Token(); err != nil || t != json.Delim('[') {
					return nil
				}
				return arrayOffsets(dec, raw)
			}
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return nil
			}
		}
	}
	return nil
}

func arrayOffsets(dec *json.Decoder, raw []byte) []int {
	var out []int
	for dec.More() {
		out = append(out, skipSpace(raw, int(dec.InputOffset())))
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			break
		}
	}
	return out
}

// A YAML document separator: "---" alone on its line, or followed by a comment (as apimachinery's YAML reader).
var separator = regexp.MustCompile(`^---\s*(#.*)?$`)

// yamlError finds the first "line N: problem" in a YAML error (sigs.k8s.io/yaml wraps go-yaml's messages, which
// put several unmarshal errors on lines of their own).
var yamlError = regexp.MustCompile(`(?m)line (\d+): (.*)$`)

var alreadySet = regexp.MustCompile(`^key (".*") already set in map$`)

// readYAML splits the file into documents and reads each.
func (r *reader) readYAML() {
	lines := bytes.SplitAfter(r.data, []byte("\n"))
	doc, docStart := 1, 1
	var chunk []byte
	flush := func() {
		r.yamlDocument(chunk, doc, docStart)
		chunk = nil
	}
	for i, line := range lines {
		if separator.Match(bytes.TrimRight(line, "\r\n")) {
			if i > 0 || len(chunk) > 0 {
				flush()
				doc++
			}
			docStart = i + 2
			continue
		}
		chunk = append(chunk, line...)
	}
	flush()
}

// yamlDocument reads one YAML document that starts at line start of the file.
func (r *reader) yamlDocument(chunk []byte, doc, start int) {
	first := start + firstContentLine(chunk) - 1
	data, err := sigsyaml.YAMLToJSONStrict(chunk)
	if err != nil {
		msg, line := err.Error(), first
		if m := yamlError.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			line, msg = start+n-1, m[2]
			if dup := alreadySet.FindStringSubmatch(msg); dup != nil {
				msg = "duplicate key " + dup[1] // which of two values a reader takes is not to be left open
			}
		}
		msg = strings.TrimPrefix(strings.TrimPrefix(msg, "error converting YAML to JSON: "), "yaml: ")
		r.fail(doc, 0, line, fmt.Errorf("not valid YAML: %s", msg))
		return
	}
	r.fieldLine = func(path string) int {
		if n := yamlFieldLine(chunk, path); n > 0 {
			return start + n - 1
		}
		return 0
	}
	defer func() { r.fieldLine = nil }()
	var lines []int // lines of the items of a List or top-level sequence, looked up only for lists
	r.value(data, doc, first, func(i int) int {
		if lines == nil {
			lines = yamlItemLines(chunk)
		}
		if i < len(lines) {
			return start + lines[i] - 1
		}
		return first
	})
}

// firstContentLine is the 1-based line of the first line that is not blank, a comment or a directive.
func firstContentLine(chunk []byte) int {
	for i, line := range bytes.Split(chunk, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' && t[0] != '%' {
			return i + 1
		}
	}
	return 1
}

// yamlItemLines returns the document-relative lines of the items of a top-level sequence or of a List's items.
func yamlItemLines(chunk []byte) []int {
	var root yaml.Node
	if yaml.Unmarshal(chunk, &root) != nil || len(root.Content) == 0 {
		return []int{}
	}
	n := root.Content[0]
	if n.Kind == yaml.MappingNode {
		var items *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "items" {
				items = n.Content[i+1]
			}
		}
		n = items
	}
	if n == nil || n.Kind != yaml.SequenceNode {
		return []int{}
	}
	out := make([]int, len(n.Content))
	for i, item := range n.Content {
		out[i] = item.Line
	}
	return out
}

// value reads one document's JSON: an object, a List of objects or an array of objects. itemLine gives the line
// of item i (0-based).
func (r *reader) value(data []byte, doc, line int, itemLine func(i int) int) {
	data = bytes.TrimSpace(data)
	switch {
	case len(data) == 0 || string(data) == "null":
		return // an empty document
	case data[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(data, &items); err != nil {
			r.fail(doc, 0, line, fmt.Errorf("not a list of objects: %w", err))
			return
		}
		for i, item := range items {
			r.object(item, doc, i+1, itemLine(i), schema.GroupVersionKind{}, itemLine)
		}
	case data[0] == '{':
		r.object(data, doc, 0, line, schema.GroupVersionKind{}, itemLine)
	default:
		r.fail(doc, 0, line, fmt.Errorf("the document is %s, not a Kubernetes object", abbreviate(data)))
	}
}

func abbreviate(data []byte) string {
	if len(data) > 40 {
		return string(data[:40]) + "..."
	}
	return string(data)
}

// object decodes one object; a List is expanded into its items. listGVK, when set, is the GVK of the typed
// list (PodList) the object is an item of: such items may leave out apiVersion and kind.
func (r *reader) object(data []byte, doc, item, line int, listGVK schema.GroupVersionKind, itemLine func(i int) int) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		r.fail(doc, item, line, errors.New("the item is empty"))
		return
	}
	if data[0] != '{' {
		r.fail(doc, item, line, fmt.Errorf("the item is %s, not a Kubernetes object", abbreviate(data)))
		return
	}
	var head struct {
		APIVersion any               `json:"apiVersion"`
		Kind       any               `json:"kind"`
		Items      []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field == "items" {
			r.fail(doc, item, line, errors.New("items: must be a list of objects"))
		} else {
			r.fail(doc, item, line, fmt.Errorf("not an object: %w", err))
		}
		return
	}
	apiVersion, okVersion := head.APIVersion.(string)
	kind, okKind := head.Kind.(string)
	if head.APIVersion != nil && !okVersion || head.Kind != nil && !okKind {
		r.fail(doc, item, line, errors.New("apiVersion and kind must be strings"))
		return
	}
	if (apiVersion == "" || kind == "") && !listGVK.Empty() {
		// An item of a typed list (PodList) may leave its type to the list.
		apiVersion = cmpOr(apiVersion, listGVK.GroupVersion().String())
		kind = cmpOr(kind, strings.TrimSuffix(listGVK.Kind, "List"))
		var m map[string]any
		if err := json.Unmarshal(data, &m); err == nil {
			m["apiVersion"], m["kind"] = apiVersion, kind
			data, _ = json.Marshal(m)
		}
	}
	switch {
	case apiVersion == "" && kind == "":
		r.fail(doc, item, line, errors.New("no apiVersion and no kind: every document must be a Kubernetes object"))
		return
	case apiVersion == "":
		r.fail(doc, item, line, fmt.Errorf("%s without apiVersion", kind))
		return
	case kind == "":
		r.fail(doc, item, line, fmt.Errorf("no kind (apiVersion %s)", apiVersion))
		return
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		r.fail(doc, item, line, fmt.Errorf("apiVersion %q: %w", apiVersion, err))
		return
	}
	gvk := gv.WithKind(kind)
	if strings.HasSuffix(kind, "List") && head.Items != nil {
		if item > 0 {
			r.fail(doc, item, line, fmt.Errorf("a %s inside a list: lists do not nest", kind))
			return
		}
		for i, raw := range head.Items {
			r.object(raw, doc, i+1, itemLine(i), gvk, nil)
		}
		return
	}
	obj, decodedGVK, err := decoder.Decode(data, nil, nil)
	switch {
	case err == nil:
		gvk = *decodedGVK
	case runtime.IsNotRegisteredError(err):
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			r.fail(doc, item, line, fmt.Errorf("%s: %w", gvk.Kind, err))
			return
		}
		obj = u
	case runtime.IsStrictDecodingError(err):
		if m := strictField.FindStringSubmatch(err.Error()); m != nil && item == 0 && r.fieldLine != nil {
			if n := r.fieldLine(m[1]); n > 0 {
				line = n
			}
		}
		r.fail(doc, item, line, fmt.Errorf("%s %s: %s", gvk.Kind, nameOf(obj), strings.TrimPrefix(err.Error(), "strict decoding error: ")))
		return
	default:
		r.fail(doc, item, line, fmt.Errorf("%s: %w", gvk.Kind, err))
		return
	}
	if _, ok := obj.(metav1.Object); !ok {
		r.fail(doc, item, line, fmt.Errorf("%s is not an object with metadata", gvk.Kind))
		return
	}
	r.objects = append(r.objects, Object{Object: obj, GVK: gvk, Raw: append([]byte(nil), data...), File: r.file, Doc: doc, Item: item, Line: line})
}

var strictField = regexp.MustCompile(`(?:unknown|duplicate) field "([^"]+)"`)

// yamlFieldLine returns the document-relative line of a field path such as spec.containers[0].securityContext.x,
// or 0 when the path is not found.
func yamlFieldLine(chunk []byte, path string) int {
	var root yaml.Node
	if yaml.Unmarshal(chunk, &root) != nil || len(root.Content) == 0 {
		return 0
	}
	n, line := root.Content[0], 0
	for _, part := range strings.Split(path, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if n == nil || n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next, line = n.Content[i+1], n.Content[i].Line
			}
		}
		n = next
		for rest != "" && n != nil {
			idx, after, _ := strings.Cut(rest, "]")
			rest = strings.TrimPrefix(after, "[")
			i, err := strconv.Atoi(idx)
			if err != nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return line
			}
			n, line = n.Content[i], n.Content[i].Line
		}
	}
	return line
}

func nameOf(obj runtime.Object) string {
	m, ok := obj.(metav1.Object)
	if !ok || m.GetName() == "" {
		return "(unnamed)"
	}
	if m.GetNamespace() != "" {
		return m.GetNamespace() + "/" + m.GetName()
	}
	return m.GetName()
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
