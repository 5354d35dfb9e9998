// Package deps pins modules that helpers are about to use; it is removed once they are imported for real.
package deps

import (
	_ "github.com/getkin/kin-openapi/openapi3filter"
	_ "golang.org/x/oauth2/clientcredentials"
	_ "k8s.io/client-go/dynamic/dynamicinformer"
	_ "k8s.io/client-go/informers"
)
