package apipolicy

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/cel-go/common/types/ref"
)

// imagesPlain, the image-registry twin's shortcut, holds only for images the full parse (imageRefs) finds neither
// malformed nor from a registry that is not allowed, with every kind of registries.allowed entry; and it holds for
// the common image (a host, a repository, a digest).
func TestImagesPlainImpliesValidAndAllowed(t *testing.T) {
	configs := []string{
		"",
		"registries: {allowed: [registry.example.com]}\n",
		`registries: {allowed: [registry.example.com, "docker.io/library/", "127.0.0.1:5000/", "quay.io/vendor/", ghcr.io/org/app, "localhost:5000", docker.io, "index.docker.io/", "x.io/a/b/", localhost]}` + "\n",
	}
	images := append([]string(nil), refImages...)
	for _, image := range refImages {
		if !strings.Contains(image, "@") {
			images = append(images, image+"@"+sha, image+"@sha256:"+strings.Repeat("A", 64))
		}
	}
	images = append(images, "127.0.0.1:5000/"+strings.Repeat("a", 254)+"@"+sha, "127.0.0.1:5000/"+strings.Repeat("a", 255)+"@"+sha,
		"127.0.0.1:5000/"+strings.Repeat("a", 256)+"@"+sha, "x.io/a/b@"+sha, "x.io/a/b/c@"+sha, "x.io/a/bc@"+sha, "index.docker.io/x@"+sha, "registry.example.com/5gc/upf@"+sha, "registry.example.com.evil.io/x@"+sha)
	rnd := rand.New(rand.NewPCG(3, 4))
	parts := []string{"a", "b", "Z", "0", ".", ":", "/", "@", "_", "-", "x.io", "5000", "docker.io", "library", "localhost", "127.0.0.1:5000/", "quay.io/vendor/", "@" + sha, "ä"}
	for range 1500 {
		var b strings.Builder
		for range 1 + rnd.IntN(7) {
			b.WriteString(parts[rnd.IntN(len(parts))])
		}
		images = append(images, b.String())
	}
	for _, yaml := range configs {
		c := compileSpec(t, twinSpec(t, parse(t, yaml), "image-registry"))
		plain := 0
		for _, image := range images {
			vars, _ := c.eval(t, admission{namespace: "default", obj: pod("default", image)}.celInput(t, nil))
			if !vars["imagesPlain"].Value().(bool) {
				continue
			}
			plain++
			for _, v := range []string{"imagesMalformed", "imagesNotAllowed"} {
				if l, ok := vars[v]; ok && len(l.Value().([]ref.Val)) > 0 {
					t.Errorf("config %q, image %q: imagesPlain, and %s", yaml, image, v)
				}
			}
		}
		vars, _ := c.eval(t, admission{namespace: "default", obj: pod("default", "127.0.0.1:5000/5gc/upf@"+sha)}.celInput(t, nil))
		if want := yaml != configs[1]; vars["imagesPlain"].Value().(bool) != want {
			t.Errorf("config %q: the lab's image: imagesPlain %v, want %v", yaml, !want, want)
		}
		t.Logf("config %q: %d of %d images plain", yaml, plain, len(images))
	}
}
