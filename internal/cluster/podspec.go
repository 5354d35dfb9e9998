package cluster

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/client-go/kubernetes"
)

// PodSpecs reads pod specs with a typed GET, for what the metadata-only view does not hold (the probes and hooks
// the kubelet execs). A pod's containers, probes and hooks cannot change after it is created, so a spec is cached by
// the pod's UID for as long as the pod may live (an hour, LRU-bounded).
type PodSpecs struct {
	client kubernetes.Interface
	cache  *cache.LRUExpireCache
}

// NewPodSpecs returns a PodSpecs over client.
func NewPodSpecs(client kubernetes.Interface) *PodSpecs {
	return &PodSpecs{client: client, cache: cache.NewLRUExpireCache(8192)}
}

// PodSpec returns the spec of namespace/name; uid, when set, must match (a pod recreated under the same name is
// another pod).
func (p *PodSpecs) PodSpec(ctx context.Context, namespace, name, uid string) (*corev1.PodSpec, error) {
	key := namespace + "/" + name + "/" + uid
	if spec, ok := p.cached(namespace, name, uid); ok {
		return spec, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	pod, err := p.client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get pod %s/%s: %w", namespace, name, err)
	}
	if uid != "" && string(pod.UID) != uid {
		return nil, fmt.Errorf("pod %s/%s is now %s, not %s: the pod that ran the exec is gone", namespace, name, pod.UID, uid)
	}
	p.cache.Add(key, &pod.Spec, time.Hour)
	return &pod.Spec, nil
}

// cached returns a spec read before.
func (p *PodSpecs) cached(namespace, name, uid string) (*corev1.PodSpec, bool) {
	if v, ok := p.cache.Get(namespace + "/" + name + "/" + uid); ok {
		return v.(*corev1.PodSpec), true
	}
	return nil, false
}
