package lab

import (
	"slices"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
)

func TestServiceEndpoints(t *testing.T) {
	name := func(s string) *string { return &s }
	port := func(p int32) *int32 { return &p }
	yes, no := true, false
	slice := func(ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{Ports: ports, Endpoints: eps}
	}
	https := []discoveryv1.EndpointPort{{Name: name("metrics"), Port: port(9090)}, {Name: name("https"), Port: port(8443)}}
	ep := func(ip string, ready, serving, terminating *bool) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ready, Serving: serving, Terminating: terminating}}
	}
	for _, tc := range []struct {
		name string
		list []*discoveryv1.EndpointSlice
		want []string
	}{
		{"ready ones, on the named port", []*discoveryv1.EndpointSlice{slice(https, ep("10.0.0.1", &yes, &yes, &no), ep("10.0.0.2", nil, nil, nil), ep("10.0.0.3", &no, &no, &no))},
			[]string{"10.0.0.1:8443", "10.0.0.2:8443"}},
		{"terminating ones only when none is ready", []*discoveryv1.EndpointSlice{slice(https, ep("10.0.0.1", &no, &yes, &yes), ep("10.0.0.2", &no, &no, &yes))},
			[]string{"10.0.0.1:8443"}},
		{"a terminating one is skipped while another is ready", []*discoveryv1.EndpointSlice{slice(https, ep("10.0.0.1", &no, &yes, &yes)), slice(https, ep("10.0.0.2", &yes, &yes, &no))},
			[]string{"10.0.0.2:8443"}},
		{"a slice without the port gives nothing", []*discoveryv1.EndpointSlice{slice(https[:1], ep("10.0.0.1", &yes, &yes, &no))}, nil},
		{"no slices", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := serviceEndpoints(tc.list, "https"); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
