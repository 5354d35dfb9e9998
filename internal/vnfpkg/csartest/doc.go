// Package csartest builds SOL004 CSAR files for tests: a CA and a provider certificate made in memory, a VNFD with
// OsContainer nodes, a Helm chart, a manifest with SHA-256 hashes and its CMS signature, and ways to tamper with
// each. Keys never touch the disk except where a test writes a trust anchor (a certificate) to t.TempDir.
package csartest
