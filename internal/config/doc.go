// Package config reads and validates vnfguard's one configuration file: protected namespaces, VNFM, controller and
// break-glass identities, the instance label, allowed registries, the inventory source, per-VNF-product profiles
// and the mode of each check. Errors name the line, the field and what is wrong.
package config
