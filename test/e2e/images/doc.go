// Package images proves image integrity at admission (M1047) end to end: a real control plane (internal/lab), a real
// OCI registry on loopback with images and cosign signatures the test makes itself (internal/imagesig/cosigntest),
// Trivy reports for their digests, the VNF package onboarded as a signed SOL004 CSAR through `vnfguard package
// import`, and the vnfguard binary built from this tree registered as the webhook. A
// signed, declared, clean image is admitted; an unsigned one, one signed with another key, an undeclared digest, a
// tag and an image with a critical CVE are each denied with their own message.
package images
