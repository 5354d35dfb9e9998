package detect

import (
	"bytes"
	"encoding/json/jsontext"
	"strconv"
	"strings"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/vnfguard/vnfguard/internal/danger"
)

// bodyView is what the engine's own helpers read of a request or response body, read in one pass straight into
// these fields: objectMeta() reads kind and metadata (name, namespace, labels, ownerReferences); hostTakeover(),
// podCommands() and dangerPod() the pod spec (a Pod's spec, a workload's template, a CronJob's job template). A
// pod create's body is a kilobyte of which the helpers read a few members: building maps of them and reading the
// maps again cost more than the rest of the event's evaluation, and most of its garbage.
//
// The view reads each member as the full decode (decodeObject: encoding/json v1's reading) and the map helpers
// (metaFromMap, podSpecOf, danger.PodOfMap, and the hostTakeover and podCommands of the maps, in
// bodyview_ref_test.go) read it: a name twice in one object, the last value wins; a value of another kind than a
// helper wants reads as absent; invalid UTF-8 reads as U+FFFD; and a body that is not one JSON object, or holds a
// number out of float64's range anywhere, reads as {} (a body whose content type says JSON is taken at its word:
// readView). TestBodyViewReadsAsFullDecode and FuzzDecodeObject hold
// it to the map helpers over the full decode. CEL's requestObject, responseObject, object() and podSpec() still get
// the full decode.
type bodyView struct {
	object bool // the body is a JSON object; when false every other field is zero: the body reads as {}
	// kindSet: kind is present and not null (object() takes such a request body); kindString: it is a string,
	// kind its value.
	kindSet, kindString bool
	kind                string
	metaSet             bool // metadata is present, of whatever kind
	meta                viewMeta
	// pod is the spec of a Pod, workload spec.template.spec, cronJob spec.jobTemplate.spec.template.spec: all three
	// are read, since kind may come after spec.
	pod, workload, cronJob podView
}

// viewMeta is the metadata as metaFromMap reads it.
type viewMeta struct {
	object bool // metadata is a JSON object
	// nameSet: name is present, of whatever kind; nameString: it is a string, name its value ("" otherwise, as
	// metaFromMap reads it).
	nameSet, nameString bool
	name, namespace     string
	labels              map[string]string // the string-valued labels; nil unless labels is an object
	owners              []metav1.OwnerReference
}

// podView is a pod spec as the helpers read it; the zero value reads as {}.
type podView struct {
	hostPID, hostIPC, hostNetwork bool
	volumes                       []volumeView
	runAsUser                     *int64 // securityContext's, as danger.PodOfMap reads them
	runAsNonRoot                  *bool
	// containers holds the objects of each of containerLists; lengths the lengths of those arrays, non-objects
	// included (danger.PodOfMap indexes containers by their place in the array).
	containers [len(containerLists)][]containerView
	lengths    [len(containerLists)]int
}

// containerLists are the lists of containers of a pod spec, in the order the helpers read them.
var containerLists = [...]string{"initContainers", "containers", "ephemeralContainers"}

type volumeView struct {
	name     string
	hostPath bool // hostPath is an object
	path     string
}

type containerView struct {
	index int // the place in its list
	name  string
	// command and args are their string items joined by spaces; commandItems and argsItems how many there are.
	command, args           string
	commandItems, argsItems int
	env                     []string // the non-empty string values of env's objects
	privileged              bool     // securityContext.privileged is true
	runAsUser               *int64
	runAsNonRoot            *bool
	add                     []string // securityContext.capabilities.add's strings
	// hooks are the joined exec commands of lifecycle.postStart, lifecycle.preStop and the liveness, readiness and
	// startup probes, in podCommands' order; "" when absent.
	hooks [5]string
}

// Where each hook's command line goes in containerView.hooks.
const (
	hookPostStart = iota
	hookPreStop
	hookLiveness
	hookReadiness
	hookStartup
)

// viewValidity is how a body must parse for the full decode to read it: duplicate names and invalid UTF-8
// allowed.
var viewValidity = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// readView reads the view of a body into v (reset first). A body whose content type is JSON has had its syntax
// checked by the decoder that made it (audit.DecodeEvent reads it with viewValidity; encoding/json checks a whole
// input before any UnmarshalJSON), and is not checked again: for a pod create that second pass cost as much as
// reading the view. Any other body is checked by jsontext first, as the full decode checks it. The scanner below
// stays safe on a body that is not JSON whatever its content type says (it ends, and reads something), but reads as
// the full decode does only JSON.
func readView(u *runtime.Unknown, v *bodyView) {
	*v = bodyView{}
	if u == nil || len(u.Raw) == 0 ||
		u.ContentType != runtime.ContentTypeJSON && !jsontext.Value(u.Raw).IsValid(viewValidity...) {
		return
	}
	s := viewScanner{b: u.Raw}
	if s.next() != '{' {
		return
	}
	// The strings of a view are a small part of its body (a pod create's name, labels, owners, container names and
	// command lines: a tenth of its bytes, less for a larger pod); one buffer of about that size holds them all, and
	// grows for a body that has more. Fresh memory is the dearest part of a view, so the guess is kept tight.
	s.text.Grow(len(u.Raw)/16 + 64)
	s.members(func(name []byte) { s.topMember(v, name) })
	if s.bad {
		*v = bodyView{}
		return
	}
	v.object = true
}

// podSpec is the pod spec podSpecOf finds in the body, or nil for {}.
func (v *bodyView) podSpec() *podView {
	if !v.kindString {
		return nil
	}
	switch v.kind {
	case "Pod":
		return &v.pod
	case "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController":
		return &v.workload
	case "CronJob":
		return &v.cronJob
	}
	return nil
}

// objectMeta is metaFromMap of the metadata, the namespace filled in from namespace when the body names none.
func (v *bodyView) objectMeta(namespace string) *metav1.ObjectMeta {
	md := &metav1.ObjectMeta{Name: v.meta.name, Namespace: v.meta.namespace, Labels: v.meta.labels, OwnerReferences: v.meta.owners}
	if md.Namespace == "" {
		md.Namespace = namespace
	}
	return md
}

// hostTakeover lists what in a pod spec hands the node to the pod: host namespaces, privileged containers and
// host mounts that danger.HostPath judges a takeover (the definition admission and posture use too). Capabilities
// are dangerousCapabilities()'s (danger.DangerousCapabilities).
func (p *podView) hostTakeover() []string {
	out := []string{}
	if p == nil {
		return out
	}
	if p.hostPID {
		out = append(out, "hostPID")
	}
	if p.hostIPC {
		out = append(out, "hostIPC")
	}
	if p.hostNetwork {
		out = append(out, "hostNetwork")
	}
	for _, vol := range p.volumes {
		if !vol.hostPath {
			continue
		}
		if hit, why := danger.HostPath(vol.path); hit {
			out = append(out, "hostPath "+vol.path+" ("+why+") as volume "+vol.name)
		}
	}
	for _, list := range p.containers {
		for i := range list {
			if list[i].privileged {
				out = append(out, "privileged container "+list[i].name)
			}
		}
	}
	return out
}

// podCommands lists the command lines of every container of a pod spec: command and args joined, each env value,
// and each exec hook or probe command joined.
func (p *podView) podCommands() []string {
	if p == nil {
		return []string{}
	}
	// Counted first, so that the list is made once at its size.
	n := 0
	for _, list := range p.containers {
		for i := range list {
			c := &list[i]
			if c.commandItems+c.argsItems > 0 {
				n++
			}
			n += len(c.env)
			for _, h := range c.hooks {
				if h != "" {
					n++
				}
			}
		}
	}
	out := make([]string, 0, n)
	for _, list := range p.containers {
		for i := range list {
			c := &list[i]
			if line := c.commandLine(); line != "" {
				out = append(out, line)
			}
			out = append(out, c.env...)
			for _, h := range c.hooks {
				if h != "" {
					out = append(out, h)
				}
			}
		}
	}
	return out
}

// commandLine is command and args joined, as one list of words.
func (c *containerView) commandLine() string {
	switch {
	case c.argsItems == 0:
		return c.command
	case c.commandItems == 0:
		return c.args
	}
	return c.command + " " + c.args
}

// dangerPod is danger.PodOfMap of the spec.
func (p *podView) dangerPod() danger.Pod {
	var d danger.Pod
	if p == nil {
		return d
	}
	d.RunAsUser, d.RunAsNonRoot = p.runAsUser, p.runAsNonRoot
	for li, list := range p.containers {
		if d.Containers == nil && p.lengths[li] > 0 {
			d.Containers = make([]danger.Container, 0, p.lengths[li])
		}
		for i := range list {
			c := &list[i]
			d.Containers = append(d.Containers, danger.Container{Name: c.name, List: containerLists[li], Index: c.index,
				Add: c.add, RunAsUser: c.runAsUser, RunAsNonRoot: c.runAsNonRoot})
		}
	}
	return d
}

// viewScanner reads a body known to be JSON (readView): it need not check syntax, only find where each value ends.
// On bytes that are not JSON it must still end without a fault: every read moves forward or sets bad, and once bad
// is set next reports 0 and every loop ends.
type viewScanner struct {
	b []byte
	i int
	// bad: a number out of float64's range or a string jsontext cannot read (the full decode fails), or bytes that
	// are not JSON
	bad bool
	// plain says whether the contents of the literal literal last read are its value (no escape, valid UTF-8).
	plain bool
	// text holds every string the scan reads, one after another: a string of the view is a slice of what the
	// builder has written (strings.Builder never changes a byte once written, and a new scan has a new builder), so
	// that a view costs one allocation for its strings instead of one each. What the engine keeps of a view (the
	// object memory keeps names, labels and owners) keeps the buffer of its read, a few hundred bytes.
	text strings.Builder
}

// next skips whitespace and returns the first byte of the next token (valid JSON has one wherever this is called);
// 0 at the end or once bad.
func (s *viewScanner) next() byte {
	if s.bad {
		return 0
	}
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
		default:
			return c
		}
	}
	return 0
}

// literal reads the string literal at s.i, quotes included; "" (and bad) where there is none. It sets s.plain to
// whether the literal's contents are its value (plain), which name, unquote and joined read right after it.
func (s *viewScanner) literal() []byte {
	start := s.i
	if start >= len(s.b) || s.b[start] != '"' {
		s.plain = true
		return s.fail()
	}
	// Most literals of a body are short ASCII names and values: read byte by byte, such a literal is found plain on
	// the way, instead of searched for its end and then looked over again.
	for i, end := start+1, min(len(s.b), start+1+shortLiteral); i < end; i++ {
		if c := s.b[i]; c == '"' {
			s.i, s.plain = i+1, true
			return s.b[start:s.i]
		} else if c == '\\' || c >= utf8.RuneSelf {
			break
		}
	}
	s.i = start
	if !s.skipLiteral() {
		s.plain = true
		return s.fail()
	}
	s.plain = plain(s.b[start+1 : s.i-1])
	return s.b[start:s.i]
}

// skipLiteral reads past the string literal at s.i (its opening quote) and reports whether it ends.
func (s *viewScanner) skipLiteral() bool {
	s.i++
	for {
		end := bytes.IndexByte(s.b[s.i:], '"')
		if end < 0 {
			return false
		}
		s.i += end
		escapes := 0
		for k := s.i - 1; s.b[k] == '\\'; k-- { // the opening quote stops it
			escapes++
		}
		s.i++
		if escapes%2 == 0 {
			return true
		}
	}
}

// shortLiteral is how many bytes of a literal literal reads one by one before it searches for the end.
const shortLiteral = 24

// fail marks the body bad and ends the scan; it returns an empty string literal for a caller to read on.
func (s *viewScanner) fail() []byte {
	s.bad, s.i = true, len(s.b)
	return []byte(`""`)
}

// word reads past the literal true, false or null at s.i.
func (s *viewScanner) word(w string) {
	if !bytes.HasPrefix(s.b[s.i:], []byte(w)) {
		s.fail()
		return
	}
	s.i += len(w)
}

// name is the name a member name literal denotes: the literal's bytes when they are that (no escapes, valid
// UTF-8), so that comparing it costs no copy, else its reading.
func (s *viewScanner) name(lit []byte) []byte {
	if s.plain {
		return lit[1 : len(lit)-1]
	}
	return []byte(s.decode(lit))
}

// keep is b as a string in the scan's text.
func (s *viewScanner) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	start := s.text.Len()
	s.text.Write(b)
	return s.text.String()[start:]
}

// plain reports whether a string literal's contents are its value: no escape, and valid UTF-8. One loop over the
// (mostly short, ASCII) names and words instead of two calls; any non-ASCII byte leaves it to utf8.Valid.
func plain(in []byte) bool {
	for i, c := range in {
		if c == '\\' {
			return false
		}
		if c >= utf8.RuneSelf {
			return bytes.IndexByte(in[i:], '\\') < 0 && utf8.Valid(in[i:])
		}
	}
	return true
}

// unquote reads the string literal literal just read into the scan's text.
func (s *viewScanner) unquote(lit []byte) string {
	if s.plain {
		return s.keep(lit[1 : len(lit)-1])
	}
	return s.decode(lit)
}

// decode is the value of a literal that is not plain (escapes, invalid UTF-8), as the full decode reads it; one it
// cannot read marks the body bad.
func (s *viewScanner) decode(lit []byte) string {
	str, err := unquote(lit)
	if err != nil {
		s.bad = true
	}
	return str
}

// str reads a string value; any other value is skipped and reads as "", as a failed type assertion does.
func (s *viewScanner) str() string {
	if s.next() != '"' {
		s.skip()
		return ""
	}
	return s.unquote(s.literal())
}

// isTrue reads a value and reports whether it is true.
func (s *viewScanner) isTrue() bool {
	if s.next() == 't' {
		s.word("true")
		return true
	}
	s.skip()
	return false
}

// optBool reads a bool as danger's boolOf does: nil for any other value. The pointers are to the two shared values
// viewTrue and viewFalse, so that reading one costs no allocation: a view's readers (and what they keep, such as the
// object memory's owner references) only read through them.
func (s *viewScanner) optBool() *bool {
	switch s.next() {
	case 't':
		s.word("true")
		return &viewTrue
	case 'f':
		s.word("false")
		return &viewFalse
	default:
		s.skip()
		return nil
	}
}

// viewTrue and viewFalse are what optBool points to; never written.
var viewTrue, viewFalse = true, false

// optInt64 reads a number as danger's int64Of reads the float64 the full decode makes of it: nil for a fraction
// or any other value.
func (s *viewScanner) optInt64() *int64 {
	switch c := s.next(); {
	case c == '-' || c >= '0' && c <= '9':
	default:
		s.skip()
		return nil
	}
	start := s.i
	s.skipNumber()
	x, err := strconv.ParseFloat(string(s.b[start:s.i]), 64)
	if err != nil {
		s.bad = true
		return nil
	}
	if x != float64(int64(x)) {
		return nil
	}
	n := int64(x)
	return &n
}

// skipNumber reads past a number. The full decode fails the whole body on a number out of float64's range, so
// those that can be are parsed: only one with an exponent or of more than 300 characters can be (without an
// exponent, 300 digits are less than 1e300 and a fraction never fails).
func (s *viewScanner) skipNumber() {
	start, exp := s.i, false
	for ; s.i < len(s.b); s.i++ {
		c := s.b[s.i]
		if c == 'e' || c == 'E' {
			exp = true
		} else if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.') {
			break
		}
	}
	switch {
	case s.i == start: // no value here
		s.fail()
	case exp || s.i-start > 300:
		if _, err := strconv.ParseFloat(string(s.b[start:s.i]), 64); err != nil {
			s.bad = true
		}
	}
}

// skip reads past one value.
func (s *viewScanner) skip() {
	depth := 0
	for {
		switch s.next() {
		case 0: // the end, where a value was wanted
			s.fail()
			return
		case '{', '[':
			s.i++
			depth++
			continue
		case '}', ']':
			s.i++
			depth--
		case ',', ':':
			s.i++
			continue
		case '"':
			if !s.skipLiteral() {
				s.fail()
				return
			}
		case 't':
			s.word("true")
		case 'n':
			s.word("null")
		case 'f':
			s.word("false")
		default:
			s.skipNumber()
		}
		if depth <= 0 {
			return
		}
	}
}

// members reads the object at s.i, calling member with each name (as name returns it) for it to read the value.
func (s *viewScanner) members(member func(name []byte)) {
	s.i++ // {
	if s.next() == '}' {
		s.i++
		return
	}
	for {
		lit := s.literal()
		if s.next() != ':' {
			s.fail()
			return
		}
		s.i++
		s.next()
		member(s.name(lit))
		switch s.next() {
		case ',':
			s.i++
			s.next()
		case '}':
			s.i++
			return
		default:
			s.fail()
			return
		}
	}
}

// elements reads the array at s.i, calling elem with each element's index for it to read the element, and
// returns the array's length.
func (s *viewScanner) elements(elem func(i int)) int {
	s.i++ // [
	if s.next() == ']' {
		s.i++
		return 0
	}
	n := 0
	for {
		elem(n)
		n++
		switch s.next() {
		case ',':
			s.i++
			s.next()
		case ']':
			s.i++
			return n
		default:
			s.fail()
			return n
		}
	}
}

// array reads an array with elem, as elements does, or skips any other value and reports false.
func (s *viewScanner) array(elem func(i int)) (length int, ok bool) {
	if s.next() != '[' {
		s.skip()
		return 0, false
	}
	return s.elements(elem), true
}

// object reads an object with member, or skips any other value and reports false.
func (s *viewScanner) object(member func(name []byte)) bool {
	if s.next() != '{' {
		s.skip()
		return false
	}
	s.members(member)
	return true
}

// strs reads the string items of an array; nil for any other value.
func (s *viewScanner) strs() []string {
	var out []string
	s.array(func(int) {
		if s.next() == '"' {
			out = append(out, s.unquote(s.literal()))
		} else {
			s.skip()
		}
	})
	return out
}

// joined reads the string items of an array joined by spaces, and how many there are ("", 0 for any other value).
// The items are written one after another into the scan's text, the line a slice of it.
func (s *viewScanner) joined() (string, int) {
	start, n := s.text.Len(), 0
	if _, ok := s.array(func(int) {
		if s.next() != '"' {
			s.skip()
			return
		}
		if n > 0 {
			s.text.WriteByte(' ')
		}
		n++
		lit := s.literal()
		if s.plain {
			s.text.Write(lit[1 : len(lit)-1])
		} else {
			s.text.WriteString(s.decode(lit))
		}
	}); !ok || n == 0 {
		return "", n
	}
	return s.text.String()[start:], n
}

func (s *viewScanner) topMember(v *bodyView, name []byte) {
	switch string(name) {
	case "kind":
		v.kindSet, v.kindString, v.kind = false, false, ""
		switch s.next() {
		case 'n':
			s.skip()
		case '"':
			v.kindSet, v.kindString, v.kind = true, true, s.str()
		default:
			v.kindSet = true
			s.skip()
		}
	case "metadata":
		v.metaSet, v.meta = true, viewMeta{}
		v.meta.object = s.object(func(name []byte) { s.metaMember(&v.meta, name) })
	case "spec":
		v.pod, v.workload, v.cronJob = podView{}, podView{}, podView{}
		s.object(func(name []byte) {
			switch string(name) {
			case "template":
				v.workload = podView{}
				s.object(func(name []byte) { s.templateMember(&v.workload, name) })
			case "jobTemplate":
				v.cronJob = podView{}
				s.object(func(name []byte) {
					if string(name) != "spec" {
						s.skip()
						return
					}
					v.cronJob = podView{}
					s.object(func(name []byte) {
						if string(name) != "template" {
							s.skip()
							return
						}
						v.cronJob = podView{}
						s.object(func(name []byte) { s.templateMember(&v.cronJob, name) })
					})
				})
			default:
				s.podMember(&v.pod, name)
			}
		})
	default:
		s.skip()
	}
}

// templateMember reads a member of a pod template: its spec.
func (s *viewScanner) templateMember(p *podView, name []byte) {
	if string(name) != "spec" {
		s.skip()
		return
	}
	*p = podView{}
	s.object(func(name []byte) { s.podMember(p, name) })
}

func (s *viewScanner) metaMember(m *viewMeta, name []byte) {
	switch string(name) {
	case "name":
		m.nameSet, m.nameString = true, s.next() == '"'
		m.name = s.str()
	case "namespace":
		m.namespace = s.str()
	case "labels":
		m.labels = nil
		if s.next() != '{' {
			s.skip()
			return
		}
		m.labels = map[string]string{}
		s.members(func(name []byte) {
			key := s.keep(name)
			if s.next() == '"' {
				m.labels[key] = s.str()
				return
			}
			s.skip()
			delete(m.labels, key) // a later value that is no string replaces an earlier one that was
		})
	case "ownerReferences":
		m.owners = nil
		s.array(func(int) {
			var ref metav1.OwnerReference
			if s.object(func(name []byte) { s.ownerMember(&ref, name) }) {
				m.owners = append(m.owners, ref)
			}
		})
	default:
		s.skip()
	}
}

func (s *viewScanner) ownerMember(ref *metav1.OwnerReference, name []byte) {
	switch string(name) {
	case "apiVersion":
		ref.APIVersion = s.str()
	case "kind":
		ref.Kind = s.str()
	case "name":
		ref.Name = s.str()
	case "controller":
		ref.Controller = s.optBool()
	default:
		s.skip()
	}
}

// podMember reads a member of a pod spec.
func (s *viewScanner) podMember(p *podView, name []byte) {
	switch string(name) {
	case "hostPID":
		p.hostPID = s.isTrue()
	case "hostIPC":
		p.hostIPC = s.isTrue()
	case "hostNetwork":
		p.hostNetwork = s.isTrue()
	case "securityContext":
		p.runAsUser, p.runAsNonRoot = nil, nil
		s.object(func(name []byte) {
			switch string(name) {
			case "runAsUser":
				p.runAsUser = s.optInt64()
			case "runAsNonRoot":
				p.runAsNonRoot = s.optBool()
			default:
				s.skip()
			}
		})
	case "volumes":
		p.volumes = nil
		s.array(func(int) {
			var vol volumeView
			if s.object(func(name []byte) { s.volumeMember(&vol, name) }) {
				p.volumes = append(p.volumes, vol)
			}
		})
	case "initContainers", "containers", "ephemeralContainers":
		li := 0
		for containerLists[li] != string(name) {
			li++
		}
		p.containers[li] = nil
		p.lengths[li], _ = s.array(func(i int) {
			c := containerView{index: i}
			if s.object(func(name []byte) { s.containerMember(&c, name) }) {
				p.containers[li] = append(p.containers[li], c)
			}
		})
	default:
		s.skip()
	}
}

func (s *viewScanner) volumeMember(vol *volumeView, name []byte) {
	switch string(name) {
	case "name":
		vol.name = s.str()
	case "hostPath":
		vol.path = ""
		vol.hostPath = s.object(func(name []byte) {
			if string(name) == "path" {
				vol.path = s.str()
			} else {
				s.skip()
			}
		})
	default:
		s.skip()
	}
}

func (s *viewScanner) containerMember(c *containerView, name []byte) {
	switch string(name) {
	case "name":
		c.name = s.str()
	case "command":
		c.command, c.commandItems = s.joined()
	case "args":
		c.args, c.argsItems = s.joined()
	case "env":
		c.env = nil
		s.array(func(int) {
			value, isString := "", false
			s.object(func(name []byte) {
				if string(name) != "value" {
					s.skip()
					return
				}
				isString = s.next() == '"'
				value = s.str()
			})
			if isString && value != "" {
				c.env = append(c.env, value)
			}
		})
	case "securityContext":
		c.privileged, c.runAsUser, c.runAsNonRoot, c.add = false, nil, nil, nil
		s.object(func(name []byte) {
			switch string(name) {
			case "privileged":
				c.privileged = s.isTrue()
			case "runAsUser":
				c.runAsUser = s.optInt64()
			case "runAsNonRoot":
				c.runAsNonRoot = s.optBool()
			case "capabilities":
				c.add = nil
				s.object(func(name []byte) {
					if string(name) == "add" {
						c.add = s.strs()
					} else {
						s.skip()
					}
				})
			default:
				s.skip()
			}
		})
	case "lifecycle":
		c.hooks[hookPostStart], c.hooks[hookPreStop] = "", ""
		s.object(func(name []byte) {
			switch string(name) {
			case "postStart":
				c.hooks[hookPostStart] = s.handlerCommand()
			case "preStop":
				c.hooks[hookPreStop] = s.handlerCommand()
			default:
				s.skip()
			}
		})
	case "livenessProbe":
		c.hooks[hookLiveness] = s.handlerCommand()
	case "readinessProbe":
		c.hooks[hookReadiness] = s.handlerCommand()
	case "startupProbe":
		c.hooks[hookStartup] = s.handlerCommand()
	default:
		s.skip()
	}
}

// handlerCommand reads a lifecycle handler or a probe: its exec command joined by spaces, or "".
func (s *viewScanner) handlerCommand() string {
	line := ""
	s.object(func(name []byte) {
		if string(name) != "exec" {
			s.skip()
			return
		}
		line = ""
		s.object(func(name []byte) {
			if string(name) == "command" {
				line, _ = s.joined()
			} else {
				s.skip()
			}
		})
	})
	return line
}
