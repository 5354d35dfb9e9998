package vnfpkg

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// imageSet collects declared images in the order found, once each, with the warnings about them.
type imageSet struct {
	images   []vnf.DeclaredImage
	seen     map[string]bool
	warnings []string
}

// add records the image ref (with digest when not empty, e.g. a Helm chart's separate digest field) that from
// (a file and a field path) declares. An unparsable reference or a digest the catalogue cannot hold is a warning and
// is left out; a reference without a digest is kept, with a warning, since admission requires digests.
func (s *imageSet) add(ref, digest, imgName, from string) {
	ref, digest = strings.TrimSpace(ref), strings.TrimSpace(digest)
	if ref == "" || strings.Contains(ref, "{{") {
		return // nothing declared, or a template the chart fills in at install time
	}
	if digest != "" && !strings.Contains(ref, "@") {
		if !strings.Contains(digest, ":") {
			digest = "sha256:" + digest // charts often give the bare hex
		}
		ref = stripTag(ref) + "@" + digest
	}
	parsed, err := name.ParseReference(ref)
	if err != nil {
		s.warnings = append(s.warnings, fmt.Sprintf("%s: %q is not an image reference, left out: %v", from, ref, err))
		return
	}
	img := vnf.DeclaredImage{Name: imgName, Image: ref}
	if d, ok := parsed.(name.Digest); ok {
		img.Digest = d.DigestStr()
		if !validDigest(img.Digest) {
			s.warnings = append(s.warnings, fmt.Sprintf("%s: image %s: digest is not sha256:<64 lowercase hex>, left out", from, ref))
			return
		}
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	if s.seen[img.Image] {
		return
	}
	s.seen[img.Image] = true
	if img.Digest == "" {
		s.warnings = append(s.warnings, fmt.Sprintf("%s: image %s has no digest; admission requires digests (import needs --allow-tags)", from, ref))
	}
	s.images = append(s.images, img)
}

// stripTag drops a ":tag" from a reference, so that a separate digest makes repo@digest.
func stripTag(ref string) string {
	slash := strings.LastIndex(ref, "/")
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		return ref[:colon]
	}
	return ref
}

func validDigest(d string) bool {
	h, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// scalar renders a YAML scalar (a tag may decode as a number) as a string; "" for anything else.
func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int, int64, uint64, float64, bool:
		return fmt.Sprint(v)
	}
	return ""
}
