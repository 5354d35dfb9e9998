package apipolicy

import (
	"strings"

	admregv1 "k8s.io/api/admissionregistration/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Twin image-registry judges check image-registry, in every namespace but kube-system, for the container images (init,
regular and ephemeral containers) of pods and of the workloads' pod templates:

  - a reference go-containerregistry does not parse for its digest, tag or repository (malformedRef) is refused;
  - when registries.allowed is not empty, a reference whose registry or repository is not allowed is refused. The
    registry and repository are computed in CEL as go-containerregistry computes them for a valid reference
    (imageRefVariables): the digest (@...) is cut off, then the tag (the text after the last ':' when it holds no
    '/'); the first path component is the registry when it contains '.' or ':', anything else is Docker Hub
    (index.docker.io, with "library/" before a one-component repository; "docker.io" is index.docker.io). So
    "localhost:5000/x" names the registry localhost:5000, and "localhost/x" is Docker Hub's repository
    localhost/x, as go-containerregistry has it. An entry matches as in the check: the registry equals it, the
    repository equals it, or it ends in '/' and the repository is at or under it; the entries are normalised as
    the check normalises them (normaliseRegistry).

Left to the webhook: references that are not valid only for their registry (Go's url.Parse judges it: a space, a
'%', a port that is not a number), unless that registry is not allowed; and kube-system unless it is protected: the
webhook's registration never sends the check the requests of kube-system (admission.WebhookConfiguration), whose
system pods come from registries nobody lists.
*/
func init() {
	register(twin{check: "image-registry", group: "workloads", technique: finding.MaliciousVNFInstantiation, spec: imageRegistry})
}

// unjudgedNamespace is the namespace the webhook is never asked about unless it is protected (the registration's
// cluster webhook leaves it out): twins of checks that hold "in every namespace the webhook sees" leave it alone.
const unjudgedNamespace = "kube-system"

func imageRegistry(r *renderer) (*admregv1.ValidatingAdmissionPolicySpec, error) {
	protected, err := r.protected()
	if err != nil {
		return nil, err
	}
	vars := append([]admregv1.Variable{{Name: "protected", Expression: protected}}, podVariables()...)
	vars = append(vars, imageRefVariables()...)
	vars = append(vars, admregv1.Variable{Name: "imagesMalformed", Expression: "variables.imageRefs.filter(r, " + malformedRef + ")"})
	// The common image (a registry's host, a repository, a digest) passes both validations without imageRefs, whose
	// parse costs the API server hundreds of allocations for every image (measured, BenchmarkAPIServerPolicies).
	fast := pinnedHostRef
	if len(r.cfg.Registries.Allowed) > 0 {
		fast += " && " + list(fastAllowedPrefixes(r.cfg.Registries.Allowed)) + ".exists(p, i.startsWith(p))"
	}
	each := "c, [string(c.?image.orValue(''))].all(i, " + fast + ")"
	vars = append(vars, admregv1.Variable{Name: "imagesPlain", Expression: "variables.containers.all(" + each + ") && variables.ephemeral.all(" + each + ")"})
	judged := "!variables.specChanged || (request.namespace == " + quote(unjudgedNamespace) + " && !variables.protected) || variables.imagesPlain || "
	validations := []admregv1.Validation{{
		Expression: judged + "!variables.imageRefs.exists(r, " + malformedRef + ")",
		Message:    "vnfguard denied (in the API server): " + r.tag() + " a container image is not a valid image reference",
		MessageExpression: r.denied() + " + variables.imagesMalformed.map(r, 'container \"' + r.container + '\": image \"' + r.image + '\"').join('; ') + " +
			quote(" is not a valid image reference"),
		Reason: forbidden(),
	}}
	if len(r.cfg.Registries.Allowed) > 0 {
		allowed, prefixes := []string{}, []string{}
		for _, e := range r.cfg.Registries.Allowed {
			e = normaliseRegistry(e)
			allowed = append(allowed, e)
			if strings.HasSuffix(e, "/") {
				prefixes = append(prefixes, e)
			}
		}
		// As the check: the host, a prefix entry the repository is at or under (repo+"/" starts with it), the
		// repository.
		ok := "r.registry in " + list(allowed) + " || " + list(prefixes) + ".exists(p, (r.repo + '/').startsWith(p)) || r.repo in " + list(allowed)
		// The allowed test first: most images pass it, and then no regular expression of malformedRef runs.
		notAllowed := "!(" + ok + ") && !(" + malformedRef + ")"
		vars = append(vars, admregv1.Variable{Name: "imagesNotAllowed", Expression: "variables.imageRefs.filter(r, " + notAllowed + ")"})
		validations = append(validations, admregv1.Validation{
			Expression: judged + "!variables.imageRefs.exists(r, " + notAllowed + ")",
			Message:    "vnfguard denied (in the API server): " + r.tag() + " a container image is not from an allowed registry (" + strings.Join(allowed, ", ") + ")",
			MessageExpression: r.denied() + " + variables.imagesNotAllowed.map(r, 'container \"' + r.container + '\": image \"' + r.image + '\" is from ' + r.registry).join('; ') + " +
				quote(", which is not an allowed registry ("+strings.Join(allowed, ", ")+")"),
			Reason: forbidden(),
		})
	}
	return &admregv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admregv1.MatchResources{ResourceRules: workloadRules()},
		Variables:        vars,
		Validations:      refusals(validations),
	}, nil
}

// pinnedHostRef is a CEL condition on an image i: a reference of the shape HOST/PATH@sha256:HEX that imageRefs
// parses into host HOST (a first path component with a '.' or ':', no '@'), path PATH (2 to 255 of [a-z0-9_./-],
// no ':', so no tag) and a valid digest: malformedRef is false for it, and its registry is HOST (or
// index.docker.io for docker.io, which fastAllowedPrefixes leaves out). The path's length is counted apart: a
// regular expression's {2,255} costs Go's regexp five times the time of a '+'.
const pinnedHostRef = "i.matches('^[^/@]*[.:][^/@]*/[a-z0-9_./-][a-z0-9_./-]+@sha256:[a-f0-9]{64}$') && i.indexOf('@') - i.indexOf('/') <= 256"

// fastAllowedPrefixes are the prefixes an image of pinnedHostRef's shape starts with only if the check allows its
// registry or repository: HOST/ for an allowed registry HOST, and an allowed prefix entry HOST/PATH/; of the
// entries whose host pinnedHostRef recognises (a '.' or ':', no '@', not docker.io). Such an image starting with
// HOST/ has registry HOST; starting with HOST/PATH/, its repository HOST/PATH/... (Docker Hub's "library/" is
// added only to a path without '/', which such a path is not unless PATH is empty) is under the entry.
func fastAllowedPrefixes(allowed []string) []string {
	out := []string{}
	for _, e := range allowed {
		e = normaliseRegistry(e)
		host, rest, _ := strings.Cut(e, "/")
		if !strings.ContainsAny(host, ".:") || strings.Contains(host, "@") || host == "docker.io" {
			continue
		}
		switch {
		case !strings.Contains(e, "/"):
			out = append(out, e+"/")
		case rest == "" || strings.HasSuffix(rest, "/"):
			out = append(out, e)
		}
	}
	return out
}

// normaliseRegistry spells Docker Hub one way, as go-containerregistry does (policy's normaliseRegistry, which the
// check applies to registries.allowed).
func normaliseRegistry(entry string) string {
	if entry == "docker.io" || strings.HasPrefix(entry, "docker.io/") {
		return "index." + entry
	}
	return entry
}

// imageRefVariables are the variables of the image twins: imageRefs, one map of strings for each container image
// (init, regular, ephemeral), with what go-containerregistry makes of a valid reference (policy.parseImage):
//
//   - container, image: the container's name and image;
//   - digest: "@" and what follows the first '@', "" when there is none;
//   - tag: ":" and the tag, "" when the reference names none (cut from the reference without its digest);
//   - host: the registry as written ("" when the first path component is not one), path: the repository as written;
//   - registry: host, or index.docker.io when there is none or it is docker.io;
//   - repo: registry/repository, with "library/" for a one-component repository of Docker Hub.
//
// Every step is plain string work guarded by its index, so that no reference, valid or not, makes the CEL fail
// (failurePolicy Fail would refuse the request with a message that names no check). The API server's CEL has no
// cel.bind: a one-element list's map() names an intermediate value.
func imageRefVariables() []admregv1.Variable {
	// The API server's CEL wants homogeneous literals: every value a string (string() of what may be dyn).
	entry := func(c string) string {
		return "[string(" + c + ".?image.orValue(''))].map(i, [string(" + c + ".name)].map(n, i.contains('@') ? " +
			"{'container': n, 'image': i, 'base': i.substring(0, i.indexOf('@')), 'digest': i.substring(i.indexOf('@'))} : " +
			"{'container': n, 'image': i, 'base': i, 'digest': ''})[0])[0]"
	}
	// Cut the tag off the reference without its digest: after the last ':', unless a '/' follows (then the ':' is
	// a registry's port).
	named := "[string(r.base)].map(b, [b.lastIndexOf(':')].map(i, i >= 0 && !b.substring(i + 1).contains('/') ? " +
		"{'container': string(r.container), 'image': string(r.image), 'digest': string(r.digest), 'name': b.substring(0, i), 'tag': b.substring(i)} : " +
		"{'container': string(r.container), 'image': string(r.image), 'digest': string(r.digest), 'name': b, 'tag': ''})[0])[0]"
	// Split the registry off: the first path component, when it contains '.' or ':'.
	split := "[string(r.name)].map(m, [m.indexOf('/')].map(s, [s >= 0 ? m.substring(0, s) : ''].map(h, h.contains('.') || h.contains(':') ? " +
		"{'container': string(r.container), 'image': string(r.image), 'digest': string(r.digest), 'tag': string(r.tag), 'host': h, 'path': m.substring(s + 1)} : " +
		"{'container': string(r.container), 'image': string(r.image), 'digest': string(r.digest), 'tag': string(r.tag), 'host': '', 'path': m})[0])[0])[0]"
	resolved := "[string(r.host) == '' || string(r.host) == 'docker.io' ? 'index.docker.io' : string(r.host)].map(g, " +
		"{'container': string(r.container), 'image': string(r.image), 'digest': string(r.digest), 'tag': string(r.tag), 'host': string(r.host), " +
		"'path': string(r.path), 'registry': g, " +
		"'repo': g + '/' + (g == 'index.docker.io' && !string(r.path).contains('/') ? 'library/' + string(r.path) : string(r.path))})[0]"
	return []admregv1.Variable{
		{Name: "imageList", Expression: "variables.containers.map(c, " + entry("c") + ") + variables.ephemeral.map(c, " + entry("c") + ")"},
		{Name: "imageNames", Expression: "variables.imageList.map(r, " + named + ")"},
		{Name: "imageParts", Expression: "variables.imageNames.map(r, " + split + ")"},
		{Name: "imageRefs", Expression: "variables.imageParts.map(r, " + resolved + ")"},
	}
}

// malformedRef is a CEL condition on an element r of imageRefs: go-containerregistry does not parse it, for its
// digest (more than one '@', or not sha256 with 64 lowercase hex digits), its tag (not 1 to 128 of [A-Za-z0-9_.-])
// or its repository (not 2 to 255 of [a-z0-9_./-]). A reference with an '@' whose tag does not parse is not valid
// either: the digest's repository then keeps the ':'. What is wrong only in the registry (which Go's url.Parse
// judges) is not found: a twin refusing malformed references judges less, never more.
const malformedRef = "(r.digest != '' && !r.digest.matches('^@sha256:[a-f0-9]{64}$')) || (r.tag != '' && !r.tag.matches('^:[A-Za-z0-9_.-]{1,128}$')) || " +
	"!r.path.matches('^[a-z0-9_./-]{2,255}$')"

// validTagRef is a CEL condition on an element r of imageRefs: a reference without a digest that
// go-containerregistry parses. Exact but for the registry, of which it accepts only letters, digits, '.', '_', '-'
// and a port of up to five digits, which Go's url.Parse takes as they are (it takes other punctuation, IPv6 literals
// and longer ports too: those count as not valid here, so a twin that refuses only valid references judges less,
// never more).
const validTagRef = "r.digest == '' && !(" + malformedRef + ") && (r.host == '' || r.host.matches('^[A-Za-z0-9._-]+(:[0-9]{1,5})?$'))"
