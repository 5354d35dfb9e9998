package policy

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
)

// ErrNotChecked is what an ImageIntegrity's error wraps when it did not check at all because it was told not to
// look anything up (`policy test --offline`). The image checks then neither deny nor stay silent: the decision
// notes "<check> not checked: <why>" for the image, so that a verdict never claims what was not verified.
var ErrNotChecked = errors.New("not checked")

// notChecked records, for an image the check could not judge, why; it reports whether err was such a refusal.
func (a *Attributes) notChecked(check string, img imageRef, err error) bool {
	if !errors.Is(err, ErrNotChecked) {
		return false
	}
	a.Note(check + " " + err.Error() + " (container " + strconv.Quote(img.container) + ", image " + strconv.Quote(img.image) + ")")
	return true
}

// imageRef is one container image of the workload, parsed once per request and shared by the image checks.
type imageRef struct {
	view      *PodView
	list      string // the container's list (containers, initContainers, ephemeralContainers) and index in it
	index     int
	container string
	image     string
	*parsedImage
}

// field is the field path of the image, e.g. spec.containers[0].image: made only for a violation, which needs it.
func (r *imageRef) field() string { return r.view.ContainerPath(r.list, r.index) + ".image" }

// parsedImage is what go-containerregistry makes of a reference, kept with the strings the checks compare.
type parsedImage struct {
	ref      name.Reference // nil when err is set
	err      error
	registry string // e.g. registry.example.com, index.docker.io
	repo     string // registry/repository
	digest   string // sha256:..., "" for a tag
}

// refCache remembers parsed references: a cluster runs few distinct images, and parsing one costs dozens of
// allocations. It stops growing at refCacheMax entries, after which new references are parsed every time.
var (
	refCache     sync.Map // string → *parsedImage
	refCacheSize atomic.Int64
)

const refCacheMax = 16384

func parseImage(image string) *parsedImage {
	if p, ok := refCache.Load(image); ok {
		return p.(*parsedImage)
	}
	p := &parsedImage{}
	if strings.Contains(image, "@") {
		var d name.Digest
		if d, p.err = name.NewDigest(image, name.WeakValidation); p.err == nil {
			p.ref, p.digest = d, d.DigestStr()
		}
	} else {
		p.ref, p.err = name.NewTag(image, name.WeakValidation)
	}
	if p.err == nil {
		p.registry, p.repo = p.ref.Context().RegistryStr(), p.ref.Context().Name()
	}
	if refCacheSize.Load() < refCacheMax {
		if _, loaded := refCache.LoadOrStore(image, p); !loaded {
			refCacheSize.Add(1)
		}
	}
	return p
}

// images parses the images of the workload's containers with go-containerregistry, once per request.
func (a *Attributes) images() []imageRef {
	if a.imagesParsed || a.Workload == nil {
		return a.imageRefs
	}
	a.imagesParsed = true
	w := a.Workload
	n := len(w.Spec.InitContainers) + len(w.Spec.Containers) + len(w.Spec.EphemeralContainers)
	a.imageRefs = make([]imageRef, 0, n)
	w.Containers(func(list string, i int, c *corev1.Container) {
		a.imageRefs = append(a.imageRefs, imageRef{view: w, list: list, index: i, container: c.Name, image: c.Image, parsedImage: parseImage(c.Image)})
	})
	return a.imageRefs
}
