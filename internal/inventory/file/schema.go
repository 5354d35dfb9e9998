package file

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// valueKind is what a field of the inventory may hold.
type valueKind int

const (
	kindAny    valueKind = iota // free-form SOL003 attribute: any YAML value, kept as is
	kindString                  // a scalar; numbers keep their text, so "vnfSoftwareVersion: 1.0" stays "1.0"
	kindBool
	kindObject // a mapping with known fields only: a typo there silently changes what vnfguard protects
	kindList
	kindMap // a mapping with free keys, each value of elem
)

// schema describes the shape of one value. The walk checks the document against it, so that every type error and
// unknown field is reported with its path and line, before the typed structs are filled.
type schema struct {
	kind   valueKind
	what   string             // how messages name the object: "a VnfInstance"
	fields map[string]*schema // kindObject
	elem   *schema            // kindList, kindMap
	// listKey lets a kindMap also be written as a list of objects keyed by this field: SOL003 V2 spelled
	// vimConnectionInfo as a list with ids, V3 as a map keyed by id.
	listKey string
}

var (
	anyValue  = &schema{kind: kindAny}
	str       = &schema{kind: kindString}
	boolean   = &schema{kind: kindBool}
	vimConnOf = object("a VimConnectionInfo", map[string]*schema{
		"id": str, "vimId": str, "vimType": str, "interfaceInfo": anyValue, "accessInfo": anyValue, "extra": anyValue,
	})
	vimConns = &schema{kind: kindMap, what: "a map of VimConnectionInfo", elem: vimConnOf, listKey: "id"}
	// resourceHandle is SOL003's ResourceHandle.
	resourceHandle = object("a ResourceHandle", map[string]*schema{
		"vimConnectionId": str, "resourceProviderId": str, "resourceId": str, "vimLevelResourceType": str,
	})
	vnfcResourceInfo = object("a VnfcResourceInfo", map[string]*schema{
		"id": str, "vduId": str, "vnfdId": str, "computeResource": resourceHandle, "zoneId": str,
		"storageResourceIds": anyValue, "reservationId": str, "vnfcCpInfo": anyValue, "parentCpId": str, "metadata": anyValue,
	})
	storageResourceInfo = object("a VirtualStorageResourceInfo", map[string]*schema{
		"id": str, "virtualStorageDescId": str, "vnfdId": str, "storageResource": resourceHandle, "zoneId": str,
		"reservationId": str, "metadata": anyValue,
	})
	// instantiatedVnfInfo has SOL003's fields, SOL002's spelling of the storage list, and what Tacker adds
	// (vnfcInfo, metadata with the namespace).
	instantiatedVnfInfo = object("an InstantiatedVnfInfo", map[string]*schema{
		"flavourId": str, "vnfState": str, "scaleStatus": anyValue, "maxScaleLevels": anyValue, "extCpInfo": anyValue,
		"vipCpInfo": anyValue, "virtualCpInfo": anyValue, "extVirtualLinkInfo": anyValue,
		"extManagedVirtualLinkInfo": anyValue, "monitoringParameters": anyValue, "localizationLanguage": str,
		"vnfcResourceInfo": listOf(vnfcResourceInfo), "vnfVirtualLinkResourceInfo": anyValue,
		"virtualStorageResourceInfo": listOf(storageResourceInfo), "vnfVirtualStorageResourceInfo": listOf(storageResourceInfo),
		"vnfcInfo": anyValue, "metadata": anyValue,
	})
	// extension is vnfguard's own per-instance block.
	extension = object("an x-vnfguard block", map[string]*schema{
		"activeOperation":      object("an activeOperation", map[string]*schema{"operation": str, "operationState": str}),
		"terminationRequested": boolean,
		"terminatedAt":         str,
	})
	// instanceSchema is SOL003's VnfInstance (V3.7.1 and the older V2 fields vnfPkgId, list-shaped vimConnectionInfo).
	instanceSchema = object("a VnfInstance", map[string]*schema{
		"id": str, "vnfInstanceName": str, "vnfInstanceDescription": str, "vnfdId": str, "vnfProvider": str,
		"vnfProductName": str, "vnfSoftwareVersion": str, "vnfdVersion": str, "vnfPkgId": str,
		"vnfConfigurableProperties": anyValue, "vimConnectionInfo": vimConns, "instantiationState": str,
		"instantiatedVnfInfo": instantiatedVnfInfo, "metadata": anyValue, "extensions": anyValue, "_links": anyValue,
		"x-vnfguard": extension,
	})
	packageSchema = object("a vnfPackage", map[string]*schema{
		"vnfdId": str, "vnfProvider": str, "vnfProductName": str, "vnfSoftwareVersion": str, "vnfdVersion": str,
		"vnfPkgId": str,
		"images":   listOf(object("an image", map[string]*schema{"name": str, "image": str, "digest": str})),
	})
	inventorySchema = object("an Inventory document", map[string]*schema{
		"apiVersion": str, "kind": str, "vnfPackages": listOf(packageSchema), "vnfInstances": listOf(instanceSchema),
	})
)

func listOf(s *schema) *schema { return &schema{kind: kindList, elem: s} }

func object(what string, fields map[string]*schema) *schema {
	return &schema{kind: kindObject, what: what, fields: fields}
}

// maxNodes and maxDepth bound the walk: YAML aliases can make a small file expand into an enormous tree, or
// into an endless one when an alias refers to its own anchor.
const (
	maxNodes = 1 << 18
	maxDepth = 64
)

// walker checks a YAML node tree against a schema and converts it into plain Go values (map[string]any, []any,
// string, bool, numbers) that encoding/json can turn into the typed structs. It records the line of every path
// it visits, for the errors found later by validation.
type walker struct {
	file   string
	errs   []*Error
	lines  map[string]int
	bad    map[string]bool // paths already reported, so that a wrong value is not also called missing
	budget int
	depth  int
}

func newWalker(file string) *walker {
	return &walker{file: file, lines: map[string]int{}, bad: map[string]bool{}, budget: maxNodes}
}

func (w *walker) errorf(line int, path, format string, args ...any) {
	w.bad[path] = true
	w.errs = append(w.errs, &Error{File: w.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// lineOf returns the line of path, or of its nearest ancestor the walk saw (a missing field is reported at the
// line of the object that lacks it).
func (w *walker) lineOf(path string) int {
	for path != "" {
		if line, ok := w.lines[path]; ok {
			return line
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return w.lines[""]
}

func field(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// deref follows aliases to the anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names a node's type for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!bool":
			return "the boolean " + n.Value
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!null":
			return "null"
		}
		return "the string " + strconv.Quote(n.Value)
	}
	return "an empty value"
}

// value walks n at path against s. It returns the converted value and whether one is present (null is absent).
func (w *walker) value(n *yaml.Node, path string, s *schema) (any, bool) {
	n = deref(n)
	if isNull(n) {
		return nil, false
	}
	if w.budget--; w.budget < 0 {
		if w.budget == -1 {
			w.errorf(n.Line, path, "the document expands to more than %d values (aliases?); refusing to read it", maxNodes)
		}
		return nil, false
	}
	if w.depth >= maxDepth {
		if !w.bad[path] {
			w.errorf(n.Line, path, "nested more than %d levels deep (an alias that contains itself?); refusing to read it", maxDepth)
		}
		w.budget = -2 // one such error is enough
		return nil, false
	}
	w.depth++
	defer func() { w.depth-- }()
	if _, seen := w.lines[path]; !seen && s.kind != kindAny {
		w.lines[path] = n.Line // free-form values are never validated, so their lines are not needed
	}
	switch s.kind {
	case kindString:
		if n.Kind != yaml.ScalarNode {
			w.errorf(n.Line, path, "must be a string, not %s", describe(n))
			return nil, false
		}
		if n.ShortTag() == "!!bool" {
			w.errorf(n.Line, path, "must be a string, not %s (quote it)", describe(n))
			return nil, false
		}
		return n.Value, true
	case kindBool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			w.errorf(n.Line, path, "must be true or false, not %s", describe(n))
			return nil, false
		}
		return b, true
	case kindList:
		if n.Kind != yaml.SequenceNode {
			w.errorf(n.Line, path, "must be a list, not %s", describe(n))
			return nil, false
		}
		out := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			v, ok := w.value(item, index(path, i), s.elem)
			if !ok && isNull(deref(item)) {
				w.errorf(item.Line, index(path, i), "is empty")
			}
			out = append(out, v)
		}
		return out, true
	case kindObject, kindMap:
		if s.listKey != "" && n.Kind == yaml.SequenceNode {
			return w.keyedList(n, path, s)
		}
		if n.Kind != yaml.MappingNode {
			what := s.what
			if what == "" {
				what = "a mapping"
			}
			w.errorf(n.Line, path, "must be %s (a mapping), not %s", what, describe(n))
			return nil, false
		}
		out := make(map[string]any, len(n.Content)/2)
		w.mapping(n, path, func(key string, keyNode, val *yaml.Node) {
			fp := field(path, key)
			fs := s.elem
			if s.kind == kindObject {
				fs = s.fields[key]
				if fs == nil {
					msg := fmt.Sprintf("unknown field %q in %s", key, s.what)
					if guess := closest(key, s.fields); guess != "" {
						msg += fmt.Sprintf("; did you mean %q?", guess)
					}
					w.errorf(keyNode.Line, fp, "%s", msg)
					return
				}
			}
			w.lines[fp] = keyNode.Line
			if v, ok := w.value(val, fp, fs); ok {
				out[key] = v
			}
		})
		return out, true
	default:
		return w.anyValue(n, path)
	}
}

// keyedList converts a list of objects into a map keyed by each object's s.listKey field (or its index).
func (w *walker) keyedList(n *yaml.Node, path string, s *schema) (any, bool) {
	out := make(map[string]any, len(n.Content))
	for i, item := range n.Content {
		v, ok := w.value(item, index(path, i), s.elem)
		if !ok {
			continue
		}
		obj, _ := v.(map[string]any)
		key, _ := obj[s.listKey].(string)
		if key == "" {
			key = strconv.Itoa(i)
		}
		if _, dup := out[key]; dup {
			w.errorf(deref(item).Line, index(path, i), "duplicate %s %q", s.listKey, key)
			continue
		}
		out[key] = v
	}
	return out, true
}

// mapping calls fn for each key of a mapping node, reporting non-string and duplicate keys: which of two
// values a reader takes is not something an inventory should leave open.
func (w *walker) mapping(n *yaml.Node, path string, fn func(key string, keyNode, val *yaml.Node)) {
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := deref(n.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode {
			w.errorf(n.Content[i].Line, path, "a mapping key must be a string, not %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			w.errorf(k.Line, field(path, k.Value), "duplicate field (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		fn(k.Value, k, n.Content[i+1])
	}
}

// anyValue converts a free-form value into what encoding/json marshals.
func (w *walker) anyValue(n *yaml.Node, path string) (any, bool) {
	switch n.Kind {
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		w.mapping(n, path, func(key string, _ *yaml.Node, val *yaml.Node) {
			v, _ := w.value(val, field(path, key), anyValue)
			out[key] = v
		})
		return out, true
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			v, _ := w.value(item, index(path, i), anyValue)
			out = append(out, v)
		}
		return out, true
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!bool":
			var b bool
			if n.Decode(&b) == nil {
				return b, true
			}
		case "!!int":
			var i int64
			if n.Decode(&i) == nil {
				return i, true
			}
			var u uint64
			if n.Decode(&u) == nil {
				return u, true
			}
		case "!!float":
			var f float64
			if n.Decode(&f) == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f, true
			}
		}
		return n.Value, true
	}
	return nil, false
}

// closest suggests the known field a mistyped one was probably meant to be: same letters ignoring case, or at
// most two edits away.
func closest(key string, fields map[string]*schema) string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	best, bestDist := "", 3
	for _, name := range names {
		if strings.EqualFold(name, key) {
			return name
		}
		if d := editDistance(strings.ToLower(key), strings.ToLower(name)); d < bestDist {
			best, bestDist = name, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
