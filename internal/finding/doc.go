// Package finding defines the one record every vnfguard path produces — admission denials, audit detections,
// reconciliation and posture results — together with the catalogue of MITRE FiGHT techniques and mitigations
// that findings cite. It imports no transport, storage or CLI package.
package finding
