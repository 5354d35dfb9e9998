// Package integrity builds, from the configuration's images section, what admission asks about an image beyond its
// reference (policy.ImageIntegrity, M1047): whether the VNF's provider signed it (package imagesig: cosign
// signatures fetched from the registry, keys per vnfProvider) and whether its scan passes the vulnerability gate
// (package vulngate: Trivy reports by digest, re-read when they change).
package integrity
