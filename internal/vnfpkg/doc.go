// Package vnfpkg onboards ETSI GS NFV-SOL 004 VNF packages (CSAR zip files): it verifies a package's integrity and
// its provider's signature, extracts the container images it declares with their digests, and merges it into
// vnfguard's vnfPackages catalogue (the file internal/inventory/file reads), so that admission binds instances of
// the package to exactly those images.
//
// Verification follows SOL004 §4 and §5:
//
//   - The package is read as a zip with bounded sizes (entries, bytes per file, bytes in all) and clean paths (no
//     "..", no absolute or backslash paths, no duplicates), so a zip-slip or zip-bomb package is an error and
//     nothing is ever written from it to disk.
//   - TOSCA-Metadata/TOSCA.meta names the entry definitions, the manifest and the certificate; without it, the
//     package has one .yaml at its root and a .mf manifest (and optionally a .cert) of the same name.
//   - Every artifact the manifest lists exists and has the hash the manifest gives (SHA-256, SHA-384 or SHA-512),
//     and every file of the package but the manifest, the certificate and TOSCA.meta is listed.
//   - The manifest's CMS signature (a PEM "-----BEGIN CMS-----" block at its end, detached, over the manifest's
//     bytes before that block) is made by the package's certificate, which chains to a trust anchor the operator
//     gives. A certificate alone proves nothing: anyone can make one.
//
// Images come from the VNFD (SwImage artifacts and image properties of OsContainer nodes) and from the values.yaml
// of the Helm charts the package ships. An image without a digest is a warning: admission requires digests.
package vnfpkg
