package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/vnfguard/vnfguard/internal/apipolicy"
)

func newUnregisterCommand(stdout io.Writer) *cobra.Command {
	var (
		configPath string
		names      []string
		scaleDown  string
		waitFor    time.Duration
		kube       kubeFlags
	)
	cmd := &cobra.Command{
		Use:   "unregister",
		Short: "Delete vnfguard's ValidatingWebhookConfigurations and admission policies (before uninstalling it)",
		Long: `Deletes vnfguard's webhook registration: the configurations named with --name, or those of the configuration's
self.webhookConfigurations; then the ValidatingAdmissionPolicies and bindings serve applied (admission.mode policies or
both, labelled app.kubernetes.io/managed-by=vnfguard), which would otherwise keep enforcing without it. The Helm chart runs it as a pre-delete hook, so that a fail-closed webhook never outlives
its server. A configuration that does not exist is not an error.

With --scale-down NAMESPACE/DEPLOYMENT it first scales vnfguard's Deployment to zero and waits (up to --wait) until
its pods are gone: a running replica's registration watchdog (self.registration.reapply) would otherwise put a
deleted registration back, and the fail-closed webhook would outlive its server after all. If the pods are not gone
in time it deletes the registration anyway and says so.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return usageError(err)
			}
			if len(names) == 0 {
				names = cfg.Self.WebhookConfigurations
			}
			if len(names) == 0 {
				return usageError(errors.New("no webhook configuration to delete: give --name or self.webhookConfigurations"))
			}
			restCfg, err := kube.restConfig()
			if err != nil {
				return usageError(err)
			}
			cs, err := kubernetes.NewForConfig(restCfg)
			if err != nil {
				return fmt.Errorf("client for %s: %w", restCfg.Host, err)
			}
			if scaleDown != "" {
				if err := scaleToZero(cmd.Context(), cs, scaleDown, waitFor, stdout); err != nil {
					return err
				}
			}
			for _, name := range names {
				err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(cmd.Context(), name, metav1.DeleteOptions{})
				switch {
				case apierrors.IsNotFound(err):
					fmt.Fprintf(stdout, "validatingwebhookconfiguration %s: not found\n", name)
				case err != nil:
					return fmt.Errorf("delete ValidatingWebhookConfiguration %s: %w", name, err)
				default:
					fmt.Fprintf(stdout, "validatingwebhookconfiguration %s deleted\n", name)
				}
			}
			// The API server's own policies enforce without vnfguard: they go with it.
			// In webhook mode vnfguard holds no rights on them (install.AdmissionPoliciesRole is not granted) and made
			// none: being refused the list is not an error then.
			switch err := apipolicy.Remove(cmd.Context(), cs); {
			case err != nil && cfg.Admission.Policies(), err != nil && !apierrors.IsForbidden(err):
				return err
			case err != nil:
				fmt.Fprintf(stdout, "validatingadmissionpolicies: none to delete (admission.mode %s)\n", cfg.Admission.Mode)
			default:
				fmt.Fprintf(stdout, "vnfguard's validatingadmissionpolicies and bindings deleted\n")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "vnfguard configuration file (its self.webhookConfigurations)")
	f.StringSliceVar(&names, "name", nil, "names of the ValidatingWebhookConfigurations to delete")
	f.StringVar(&scaleDown, "scale-down", "", "NAMESPACE/DEPLOYMENT: scale vnfguard's Deployment to zero and wait for its pods to go before deleting the registration")
	f.DurationVar(&waitFor, "wait", 2*time.Minute, "with --scale-down, how long to wait for the pods to go")
	kube.add(f)
	return cmd
}

// scaleToZero sets the Deployment's scale to zero and waits until none of its pods is left (terminating pods
// still answer admission reviews while they drain, but their watchdog has stopped with SIGTERM).
func scaleToZero(ctx context.Context, cs kubernetes.Interface, ref string, within time.Duration, stdout io.Writer) error {
	ns, name, ok := strings.Cut(ref, "/")
	if !ok || ns == "" || name == "" {
		return usageError(fmt.Errorf("--scale-down %q: want NAMESPACE/DEPLOYMENT", ref))
	}
	deploy, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		fmt.Fprintf(stdout, "deployment %s: not found, nothing to scale down\n", ref)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get Deployment %s: %w", ref, err)
	}
	selector, err := metav1.LabelSelectorAsSelector(deploy.Spec.Selector)
	if err != nil {
		return fmt.Errorf("deployment %s: its selector: %w", ref, err)
	}
	scale, err := cs.AppsV1().Deployments(ns).GetScale(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get the scale of Deployment %s: %w", ref, err)
	}
	if scale.Spec.Replicas != 0 {
		scale.Spec.Replicas = 0
		if _, err := cs.AppsV1().Deployments(ns).UpdateScale(ctx, name, scale, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("scale Deployment %s to zero: %w", ref, err)
		}
	}
	fmt.Fprintf(stdout, "deployment %s scaled to zero\n", ref)
	var left int
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, within, true, func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
		if err != nil {
			return false, nil // keep trying until the deadline: the API server may be busy
		}
		left = len(pods.Items)
		return left == 0, nil
	})
	if err != nil {
		fmt.Fprintf(stdout, "warning: %d pods of deployment %s still there after %s; deleting the registration anyway (a replica's watchdog may put it back: check with kubectl get validatingwebhookconfigurations)\n", left, ref, within)
		return nil
	}
	fmt.Fprintf(stdout, "deployment %s: no pods left\n", ref)
	return nil
}
