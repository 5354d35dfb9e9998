package vnfpkg

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"

	// The hash functions the manifest may name must be linked in for crypto.Hash.New.
	_ "crypto/sha256"
	_ "crypto/sha512"
)

// Manifest is a SOL004 manifest file (.mf, §4.3.2-§4.3.6 and §5.3-§5.4).
type Manifest struct {
	// Metadata is the metadata block: vnf_provider_id, vnf_product_name, vnf_release_date_time,
	// vnf_package_version and, if present, vnfd_id.
	Metadata map[string]string
	// Entries are the artifacts listed, in file order.
	Entries []ManifestEntry
	// Signature is the DER of the CMS signature at the end of the manifest; nil when the manifest is not signed.
	Signature []byte
	// Signed is the content the signature covers: the manifest's bytes before the "-----BEGIN CMS-----" line.
	Signed []byte
}

// ManifestEntry is one artifact of the manifest: a Source and its hash.
type ManifestEntry struct {
	Source    string // a path in the package, or a URI for an external artifact
	Algorithm string // as written (SHA-256, SHA-384, SHA-512)
	Hash      []byte // decoded from hex
	Line      int    // the line of Source, for errors
	hash      crypto.Hash
}

// External reports whether the artifact is outside the package (a URI), so that its hash cannot be checked here.
func (e ManifestEntry) External() bool { return strings.Contains(e.Source, "://") }

// hashes are the algorithms SOL004 manifests use, by their IANA textual names (RFC 5702 style, case-insensitive).
var hashes = map[string]crypto.Hash{"sha-256": crypto.SHA256, "sha-384": crypto.SHA384, "sha-512": crypto.SHA512}

const (
	cmsBegin = "-----BEGIN CMS-----"
	cmsEnd   = "-----END CMS-----"
)

// ParseManifest parses a manifest. name (the manifest's path) prefixes errors. Every artifact must have a Source, an
// Algorithm among SHA-256, SHA-384 and SHA-512 and a Hash of that algorithm's length; a Source listed twice, an
// unknown keyword, or text after the signature is an error.
func ParseManifest(name string, data []byte) (*Manifest, error) {
	m := &Manifest{Metadata: map[string]string{}, Signed: data}
	body := data
	if at := bytes.Index(data, []byte(cmsBegin)); at >= 0 {
		if at > 0 && data[at-1] != '\n' {
			return nil, fmt.Errorf("%s: %w: %s does not start a line", name, ErrSignature, cmsBegin)
		}
		block, rest := pem.Decode(data[at:])
		if block == nil || block.Type != "CMS" {
			return nil, fmt.Errorf("%s: %w: the CMS block at the end of the manifest is not valid PEM", name, ErrSignature)
		}
		if len(bytes.TrimSpace(rest)) > 0 {
			return nil, fmt.Errorf("%s: %w: text after %s; the signature must end the manifest", name, ErrSignature, cmsEnd)
		}
		body, m.Signed, m.Signature = data[:at], data[:at], block.Bytes
	}
	const (
		top = iota
		metadata
		entry
		skip // an indented block SOL004 defines but vnfguard does not use (non_mano_artifact_sets)
	)
	state := top
	seen := map[string]int{}
	var cur *ManifestEntry
	for i, raw := range strings.Split(string(body), "\n") {
		n := i + 1
		line := strings.TrimRight(raw, " \t\r")
		indented := line != "" && (line[0] == ' ' || line[0] == '\t')
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			if trimmed == "" && state == metadata {
				state = top
			}
			continue
		}
		if state == skip {
			if indented {
				continue
			}
			state = top
		}
		key, value, ok := strings.Cut(trimmed, ":")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" {
			return nil, fmt.Errorf("%s:%d: %w: %q is not \"keyword: value\"", name, n, ErrFormat, clip(trimmed))
		}
		switch {
		case key == "Source":
			if value == "" {
				return nil, fmt.Errorf("%s:%d: %w: Source without a path", name, n, ErrFormat)
			}
			if first, dup := seen[value]; dup {
				return nil, fmt.Errorf("%s:%d: %s: %w: also listed at line %d", name, n, value, ErrDuplicate, first)
			}
			seen[value] = n
			m.Entries = append(m.Entries, ManifestEntry{Source: value, Line: n})
			cur, state = &m.Entries[len(m.Entries)-1], entry
		case key == "metadata" && value == "" && !indented:
			state = metadata
		case key == "non_mano_artifact_sets" && value == "" && !indented:
			state, cur = skip, nil
		case state == metadata:
			if _, dup := m.Metadata[key]; dup {
				return nil, fmt.Errorf("%s:%d: %w: metadata %s is given twice", name, n, ErrFormat, key)
			}
			m.Metadata[key] = value
		case state == entry && (key == "Algorithm" || key == "Hash"):
			if (key == "Algorithm" && cur.Algorithm != "") || (key == "Hash" && cur.Hash != nil) {
				return nil, fmt.Errorf("%s:%d: %s: %w: %s is given twice", name, n, cur.Source, ErrFormat, key)
			}
			if key == "Algorithm" {
				cur.Algorithm = value
				break
			}
			h, err := hex.DecodeString(value)
			if err != nil || len(h) == 0 {
				return nil, fmt.Errorf("%s:%d: %s: %w: Hash %q is not hexadecimal", name, n, cur.Source, ErrFormat, clip(value))
			}
			cur.Hash = h
		case state == entry && (key == "Signature" || key == "Certificate"):
			// SOL004 §5.3 allows a signature per artifact; the manifest's own signature covers these hashes, which
			// is what vnfguard checks, so the per-artifact ones add nothing here.
		default:
			return nil, fmt.Errorf("%s:%d: %w: unexpected %q", name, n, ErrFormat, key)
		}
	}
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.Algorithm == "" || e.Hash == nil {
			return nil, fmt.Errorf("%s:%d: %s: %w: the artifact needs both Algorithm and Hash", name, e.Line, e.Source, ErrFormat)
		}
		h, ok := hashes[strings.ToLower(e.Algorithm)]
		if !ok {
			return nil, fmt.Errorf("%s:%d: %s: %w %q; want SHA-256, SHA-384 or SHA-512", name, e.Line, e.Source, ErrAlgorithm, clip(e.Algorithm))
		}
		if len(e.Hash) != h.Size() {
			return nil, fmt.Errorf("%s:%d: %s: %w: a %s hash has %d hex digits, not %d", name, e.Line, e.Source, ErrFormat, e.Algorithm, 2*h.Size(), 2*len(e.Hash))
		}
		e.hash = h
	}
	return m, nil
}
