// Package file is the file inventory source: it reads VNF instances from a YAML or JSON file and keeps them
// current while the file changes.
//
// The file is either an Inventory document
//
//	apiVersion: vnfguard.io/v1alpha1
//	kind: Inventory
//	vnfPackages:  [{vnfdId, vnfProvider, vnfProductName, vnfSoftwareVersion, images: [{name, image, digest}]}]
//	vnfInstances: [SOL003 VnfInstance objects, each with an optional x-vnfguard block]
//
// or a plain list of SOL003 VnfInstance objects. Field names are SOL003's. Decoding is strict where a typo would
// silently change what vnfguard protects: an unknown field of an instance, of its instantiatedVnfInfo, of a
// resource entry or of the document itself is an error (free-form SOL003 attributes such as metadata,
// extensions and vnfConfigurableProperties are not checked). Every error names the file, the line, the field path
// (vnfInstances[2].instantiationState) and what is wrong; all errors of a file are reported together.
//
// Source watches the file's directory with fsnotify, so that an editor's write-to-temp-and-rename and a
// Kubernetes ConfigMap's symlink swap are seen at once, and polls the content hash every few seconds as a
// fallback. A bad edit never replaces a good inventory: the previous snapshot stays in force and one log line
// says why and which version remains.
package file
