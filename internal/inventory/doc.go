// Package inventory is the home of vnfguard's inventory sources: the places the VNF instances come from. Each
// source lives in its own subpackage and implements vnf.Inventory, swapping an immutable vnf.Snapshot in when it
// learns something new, so that admission decisions read the inventory without locks or I/O:
//
//   - file: a YAML or JSON file (an Inventory document or a plain list of SOL003 VnfInstance objects), watched
//     and reloaded on change; the embedded default.
//   - sol003: a SOL003 VNFM (/vnflcm/v2), listed with paging, OAuth 2.0 and optional mutual TLS, and kept current
//     by an LCM-notification subscription whose endpoint `vnfguard serve` mounts; vnfmtest is a VNFM for tests
//     whose every exchange is checked against ETSI's OpenAPI documents.
package inventory
