// Package vulngate decides whether a container image may run given what a vulnerability scanner found in it.
//
// It reads two kinds of scan results and indexes them by image digest:
//   - Trivy's JSON reports (`trivy image --format json`, SchemaVersion 2), from files or directories;
//   - trivy-operator's VulnerabilityReport objects (aquasecurity.github.io/v1alpha1), from YAML/JSON files or from
//     *unstructured.Unstructured objects the caller lists from the API server.
//
// A Gate holds a Policy and an immutable Index that Load/Reload swap atomically, so that Check — called on every
// admission request — is a map lookup with no lock, and a bad report file leaves the last good index in place.
//
// The package declares the few fields it needs of both formats instead of importing Trivy, whose module pulls in
// hundreds of dependencies.
package vulngate
