package sol003

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// The VIM credentials a VNFM discloses. SOL003 4.4.1.6 forbids returning them (OpenStack Tacker 11 strips
// accessInfo's password, bearer_token and client_secret; Zed returned bearer_token), yet a VNFM that does hands the
// keys to the cluster to anyone who may read its API. The decoder records, per instance, the JSON paths of the
// credential-bearing fields of vimConnectionInfo that carry a value (vnf.IsCredentialKey decides by the name),
// and nothing of the values: accessInfo is not modelled at all, and such fields are removed from interfaceInfo and
// extra, the two maps vnfguard keeps, so that no value reaches a snapshot, the inventory history or a log.

const (
	// maxCredentialPaths bounds the paths recorded per instance: a finding names a few, and a hostile VNFM cannot
	// grow the inventory with them.
	maxCredentialPaths = 32
	// maxPathSegment bounds one key of a recorded path, in bytes.
	maxPathSegment = 64
)

// disclosedCredentials returns the paths of the credential-bearing fields with a value in the vimConnectionInfo of
// raw (the instance's JSON, which decoded into inst), sorted, and removes such fields from inst's interfaceInfo and
// extra maps.
func disclosedCredentials(raw []byte, inst *vnf.Instance) []string {
	if len(inst.VimConnectionInfo) == 0 {
		return nil // nothing to look at: the common case costs no second decoding
	}
	for _, vim := range inst.VimConnectionInfo {
		scrub(vim.InterfaceInfo)
		scrub(vim.Extra)
	}
	// The instance decoded, so vimConnectionInfo is an object of objects; accessInfo is read here and dropped.
	var wire struct {
		VimConnectionInfo map[string]any `json:"vimConnectionInfo"`
	}
	if json.Unmarshal(raw, &wire) != nil {
		return nil
	}
	var paths []string
	findCredentials("vimConnectionInfo", wire.VimConnectionInfo, &paths)
	slices.Sort(paths)
	return slices.Compact(paths)
}

// findCredentials appends the paths under prefix of credential-bearing fields that carry a value; it does not
// descend into them.
func findCredentials(prefix string, v any, paths *[]string) {
	if len(*paths) >= maxCredentialPaths {
		return
	}
	switch v := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			p := prefix + pathSegment(k)
			if vnf.IsCredentialKey(k) {
				if hasValue(v[k]) && len(*paths) < maxCredentialPaths {
					*paths = append(*paths, p)
				}
				continue
			}
			findCredentials(p, v[k], paths)
		}
	case []any:
		for i, item := range v {
			findCredentials(prefix+"["+strconv.Itoa(i)+"]", item, paths)
		}
	}
}

// hasValue: a non-empty string, a number, or a non-empty object or array. An empty value, null or a boolean (a
// flag such as "token": false) discloses nothing.
func hasValue(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v) != ""
	case float64:
		return true
	case map[string]any:
		return len(v) > 0
	case []any:
		return len(v) > 0
	}
	return false
}

// scrub removes the credential-bearing fields from m and the objects nested in it.
func scrub(m map[string]any) {
	for k, v := range m {
		if vnf.IsCredentialKey(k) {
			delete(m, k)
			continue
		}
		scrubValue(v)
	}
}

func scrubValue(v any) {
	switch v := v.(type) {
	case map[string]any:
		scrub(v)
	case []any:
		for _, item := range v {
			scrubValue(item)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// pathSegment renders a key as ".key", or as ["key"] (Go-quoted, so control characters are escaped) when it is
// not a plain name; a key longer than maxPathSegment is cut.
func pathSegment(k string) string {
	if len(k) > maxPathSegment {
		cut := maxPathSegment
		for cut > 0 && !isRuneStart(k[cut]) {
			cut--
		}
		k = k[:cut] + "…"
	}
	plain := k != ""
	for _, r := range k {
		if !(r == '_' || r == '-' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			plain = false
			break
		}
	}
	if plain {
		return "." + k
	}
	return "[" + strconv.Quote(k) + "]"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
