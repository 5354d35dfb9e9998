// Package deps pins modules the packages under construction will import; it is removed once they do.
package deps

import (
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/google/go-containerregistry/pkg/name"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/spf13/cobra"
	_ "k8s.io/client-go/informers"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/tools/clientcmd"
	_ "k8s.io/client-go/metadata"
	_ "k8s.io/client-go/dynamic"
	_ "sigs.k8s.io/yaml"
)
