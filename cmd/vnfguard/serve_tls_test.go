package main

import (
	"slices"
	"strings"
	"testing"
)

func TestServeTLSChoice(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    serveOptions
		want string // "" accepted
	}{
		{"files", serveOptions{certFile: "c", keyFile: "k"}, ""},
		{"self-signed", serveOptions{selfSigned: true}, ""},
		{"secrets", serveOptions{tlsSecret: secretTLSFlags{secret: "t", caSecret: "ca"}}, ""},
		{"none", serveOptions{}, "choose one source"},
		{"files and secrets", serveOptions{certFile: "c", keyFile: "k", tlsSecret: secretTLSFlags{secret: "t", caSecret: "ca"}}, "choose one source"},
		{"self-signed and secrets", serveOptions{selfSigned: true, tlsSecret: secretTLSFlags{secret: "t", caSecret: "ca"}}, "choose one source"},
		{"TLS Secret alone", serveOptions{tlsSecret: secretTLSFlags{secret: "t"}}, "go together"},
		{"CA file with the CA Secret", serveOptions{tlsSecret: secretTLSFlags{secret: "t", caSecret: "ca"}, registration: registrationFlags{caFile: "ca.pem"}}, "exclude each other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.checkTLSChoice()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCertHosts(t *testing.T) {
	hosts, err := certHosts(registrationFlags{service: "vnfguard/vnfguard:443"}, []string{"vnfguard.example", "vnfguard.vnfguard.svc"})
	if err != nil || !slices.Equal(hosts, []string{"vnfguard.vnfguard.svc", "vnfguard.vnfguard.svc.cluster.local", "vnfguard.example"}) {
		t.Errorf("service: %v %v", hosts, err)
	}
	if hosts, err = certHosts(registrationFlags{url: "https://127.0.0.1:8443/validate"}, nil); err != nil || !slices.Equal(hosts, []string{"127.0.0.1"}) {
		t.Errorf("url: %v %v", hosts, err)
	}
	if _, err = certHosts(registrationFlags{}, nil); err == nil || !strings.Contains(err.Error(), "no name") {
		t.Errorf("no names: %v", err)
	}
}
