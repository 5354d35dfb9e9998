package policy

import (
	"context"
	"strconv"
	"strings"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check image-registry restricts where container images come from (M1047), in every namespace the webhook sees: each
image of a pod or pod template must parse as an image reference and come from one of registries.allowed — a registry
host ("registry.example.com", which also matches its ports-less spelling only) or a repository prefix
("registry.example.com/5gc/"). Docker Hub's short names are normalised first ("nginx" is
index.docker.io/library/nginx; "docker.io" in the list matches it).

Allowed: every registry when registries.allowed is empty; updates that leave the pod spec unchanged.
*/
type imageRegistryCheck struct{ allowed []string }

func init() { register(func() Check { return &imageRegistryCheck{} }) }

func (*imageRegistryCheck) ID() string            { return "image-registry" }
func (*imageRegistryCheck) Technique() string     { return finding.MaliciousVNFInstantiation }
func (*imageRegistryCheck) Mitigations() []string { return []string{finding.MitigationAudit} }

func (c *imageRegistryCheck) init(cfg *config.Config) error {
	for _, entry := range cfg.Registries.Allowed {
		c.allowed = append(c.allowed, normaliseRegistry(entry))
	}
	return nil
}

// normaliseRegistry spells Docker Hub one way, as go-containerregistry does.
func normaliseRegistry(entry string) string {
	if entry == "docker.io" || strings.HasPrefix(entry, "docker.io/") {
		return "index." + entry
	}
	return entry
}

func (c *imageRegistryCheck) Evaluate(_ context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	if a.Workload == nil || !a.SpecChanged {
		return out, nil
	}
	for _, img := range a.images() {
		if img.err != nil {
			out = append(out, violation(c, img.field(), "container "+strconv.Quote(img.container)+": image "+strconv.Quote(img.image)+" is not a valid image reference: "+img.err.Error()))
			continue
		}
		if len(c.allowed) == 0 {
			continue
		}
		host, full := img.registry, img.repo
		ok := false
		for _, entry := range c.allowed {
			if entry == host || strings.HasSuffix(entry, "/") && underPrefix(full, entry) || entry == full {
				ok = true
				break
			}
		}
		if !ok {
			out = append(out, violation(c, img.field(), "container "+strconv.Quote(img.container)+": image "+strconv.Quote(img.image)+" is from "+host+", which is not an allowed registry ("+strings.Join(c.allowed, ", ")+")"))
		}
	}
	return out, nil
}

// underPrefix reports whether repository full is at or under prefix, which ends in "/": whether full+"/" starts
// with prefix, without building full+"/" for every image.
func underPrefix(full, prefix string) bool {
	if strings.HasPrefix(full, prefix) {
		return true
	}
	return len(prefix) == len(full)+1 && strings.HasPrefix(prefix, full)
}
