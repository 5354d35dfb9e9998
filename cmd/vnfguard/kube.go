package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// errNoKubeconfig means there is no kubeconfig and no in-cluster configuration: vnfguard runs without a cluster view.
var errNoKubeconfig = errors.New("no kubeconfig")

// kubeFlags are kubectl's --kubeconfig and --context.
type kubeFlags struct {
	kubeconfig, context string
}

func (k *kubeFlags) add(f *pflag.FlagSet) {
	f.StringVar(&k.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)")
	f.StringVar(&k.context, "context", "", "kubeconfig context to use")
}

// restConfig loads the client configuration the way kubectl does, then falls back to in-cluster.
func (k *kubeFlags) restConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if k.kubeconfig != "" {
		if _, err := os.Stat(k.kubeconfig); err != nil {
			return nil, fmt.Errorf("--kubeconfig: %w", err)
		}
		rules.ExplicitPath = k.kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: k.context}).ClientConfig()
	if err == nil {
		return cfg, nil
	}
	if k.kubeconfig != "" || k.context != "" {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	if cfg, inErr := rest.InClusterConfig(); inErr == nil {
		return cfg, nil
	}
	return nil, errNoKubeconfig
}
