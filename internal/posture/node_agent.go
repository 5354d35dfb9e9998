package posture

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/vnfguard/vnfguard/internal/policy"
)

// The node agent exception (policy.NodeAgentException, defined once in internal/policy beside the admission
// path that applies it): check workloads still reports the agent's host access, at severity info and with the
// exception's name in the message, and only for the exact shape policy.NodeAgentShape accepts; anything beyond it
// is reported at full severity, with the reason the exception does not apply.

// NodeAgentException is the text that names the exception in a finding's message.
const NodeAgentException = policy.NodeAgentException

// nodeAgentEvidence is the evidence key (and value) of a finding the exception covers.
const nodeAgentEvidence = "exception"

// nodeAgent judges whether obj is vnfguard's node agent and whether it keeps the exception's exact shape.
func (s *scope) nodeAgent(obj runtime.Object) policy.NodeAgentVerdict {
	ds, ok := obj.(*appsv1.DaemonSet)
	if !ok || !policy.IsNodeAgent(s.cfg.Self, "DaemonSet", ds.Namespace, ds.Name, nil) {
		return policy.NodeAgentVerdict{}
	}
	images, why := s.selfImages()
	if s.cfg.Self.Image != "" {
		images = append(images, s.cfg.Self.Image)
	}
	v := policy.NodeAgentShape(s.cfg.Self, &ds.Spec.Template.Spec, "spec.template.spec", images)
	if len(images) == 0 {
		v.Broken = why
	}
	return v
}

// selfImages are the images of vnfguard's own Deployment, or why they are not known.
func (s *scope) selfImages() ([]string, string) {
	self := s.cfg.Self
	m, err := s.cluster.Get(context.Background(), "Deployment", self.Namespace, self.Workload)
	if err != nil {
		return nil, fmt.Sprintf("vnfguard's Deployment %s/%s is not among the inputs, so the agent's image cannot be matched to it", self.Namespace, self.Workload)
	}
	d, ok := m.(*appsv1.Deployment)
	if !ok {
		return nil, fmt.Sprintf("vnfguard's Deployment %s/%s could not be read", self.Namespace, self.Workload)
	}
	var out []string
	for _, c := range d.Spec.Template.Spec.Containers {
		out = append(out, c.Image)
	}
	return out, ""
}
