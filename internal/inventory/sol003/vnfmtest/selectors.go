package vnfmtest

import (
	"encoding/json"
	"net/url"
)

// The attribute selectors of GET /vnf_instances (SOL013 5.3). Without any selector, or with exclude_default, a VNFM
// leaves the complex attributes of VnfInstance out of the list (SOL003 5.4.2.3.2, exclude_default; Tacker's
// VnfInstanceViewBuilder._EXCLUDE_DEFAULT): no vimConnectionInfo, no instantiatedVnfInfo, no metadata. A client
// that needs them asks with all_fields. GET /vnf_instances/{id} always returns everything. fields and
// exclude_fields are not implemented (vnfguard does not send them) and are refused with 400.

// excludedByDefault are the attributes a list leaves out unless asked for.
var excludedByDefault = []string{"vnfConfigurableProperties", "vimConnectionInfo", "instantiatedVnfInfo", "metadata", "extensions"}

// selection reads the selectors of a list request: whether every attribute is wanted, or why the request is refused.
func selection(q url.Values) (allFields bool, refused string) {
	_, all := q["all_fields"]
	_, excludeDefault := q["exclude_default"]
	for _, p := range []string{"fields", "exclude_fields"} {
		if _, ok := q[p]; ok {
			return false, p + " is not implemented by vnfmtest"
		}
	}
	if all && excludeDefault {
		return false, "all_fields cannot be combined with exclude_default (SOL013 5.3)"
	}
	return all, ""
}

// excludeDefault removes excludedByDefault from an instance's JSON; a body that is not an object (a contract test's
// PutRaw) is returned as it is.
func excludeDefault(data json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil || m == nil {
		return data
	}
	for _, k := range excludedByDefault {
		delete(m, k)
	}
	out, err := json.Marshal(m)
	if err != nil {
		return data
	}
	return out
}
