package policy

import (
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
)

// imageRef is one container image of the workload, parsed once per request and shared by the image checks.
type imageRef struct {
	field     string // field path of the image
	container string
	image     string
	ref       name.Reference // nil when err is set
	err       error
}

// images parses the images of the workload's containers with go-containerregistry, once.
func (a *Attributes) images() []imageRef {
	if a.imagesParsed || a.Workload == nil {
		return a.imageRefs
	}
	a.imagesParsed = true
	w := a.Workload
	n := len(w.Spec.InitContainers) + len(w.Spec.Containers) + len(w.Spec.EphemeralContainers)
	a.imageRefs = make([]imageRef, 0, n)
	w.Containers(func(list string, i int, c *corev1.Container) {
		ref, err := name.ParseReference(c.Image, name.WeakValidation)
		a.imageRefs = append(a.imageRefs, imageRef{field: w.ContainerPath(list, i) + ".image", container: c.Name, image: c.Image, ref: ref, err: err})
	})
	return a.imageRefs
}
