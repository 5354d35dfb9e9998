package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// ServeService relays the connections ln accepts to the endpoints of Service namespace/service, port portName, as
// kube-proxy would on a node: the lab has no kube-proxy, so what the API server dials by a kubeconfig rather than
// by a Service reference (its audit webhook backend) reaches the Service's pods through this. Each connection goes
// to the next ready endpoint in turn (kube-proxy's random choice, made predictable); with none ready, to one that
// is terminating but still serving, as kube-proxy does. The EndpointSlices come from an informer, so an endpoint
// leaves the rotation as soon as the endpoints controller drops it. The forwarder owns ln and lives until the
// control plane stops. It needs the real node (pods with addresses on the host's bridge).
func (cp *ControlPlane) ServeService(ln net.Listener, namespace, service, portName string) error {
	if cp.node == nil {
		ln.Close()
		return errors.New("lab: ServeService needs the real node (Options.RealNode)")
	}
	admin, _ := cp.ClientFor(Admin)
	factory := informers.NewSharedInformerFactoryWithOptions(admin, 0, informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = discoveryv1.LabelServiceName + "=" + service }))
	slices := factory.Discovery().V1().EndpointSlices()
	informer := slices.Informer()
	ctx, cancel := context.WithCancel(context.Background())
	factory.Start(ctx.Done())
	sync, syncCancel := context.WithTimeout(ctx, 30*time.Second)
	defer syncCancel()
	if !cache.WaitForCacheSync(sync.Done(), informer.HasSynced) {
		cancel()
		ln.Close()
		return fmt.Errorf("lab: EndpointSlices of Service %s/%s: the informer did not sync", namespace, service)
	}
	var next atomic.Uint64
	var d net.Dialer
	f := forwardFrom(ln, func(ctx context.Context) (net.Conn, error) {
		list, err := slices.Lister().EndpointSlices(namespace).List(labels.Everything())
		if err != nil {
			return nil, err
		}
		addrs := serviceEndpoints(list, portName)
		if len(addrs) == 0 {
			return nil, fmt.Errorf("lab: Service %s/%s has no endpoint for port %s", namespace, service, portName)
		}
		return d.DialContext(ctx, "tcp", addrs[next.Add(1)%uint64(len(addrs))])
	})
	f.stop = cancel
	cp.node.mu.Lock()
	cp.node.forwarders = append(cp.node.forwarders, f)
	cp.node.mu.Unlock()
	return nil
}

// serviceEndpoints are the addresses (IP:PORT) of port portName that a connection may go to: the ready endpoints,
// or, when none is ready, those terminating but still serving.
func serviceEndpoints(list []*discoveryv1.EndpointSlice, portName string) []string {
	var ready, serving []string
	for _, s := range list {
		port := int32(0)
		for _, p := range s.Ports {
			if p.Name != nil && *p.Name == portName && p.Port != nil {
				port = *p.Port
			}
		}
		if port == 0 {
			continue
		}
		for _, e := range s.Endpoints {
			c := e.Conditions
			for _, ip := range e.Addresses {
				addr := net.JoinHostPort(ip, strconv.Itoa(int(port)))
				switch {
				case c.Ready == nil || *c.Ready: // nil: ready (the API's documented default)
					ready = append(ready, addr)
				case c.Serving != nil && *c.Serving && c.Terminating != nil && *c.Terminating:
					serving = append(serving, addr)
				}
			}
		}
	}
	if len(ready) > 0 {
		return ready
	}
	return serving
}
