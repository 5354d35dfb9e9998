package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/vnfguard/vnfguard/internal/install"
)

// The identities vnfguard itself runs as in the lab, with the RBAC it ships and nothing more.
const (
	// VNFGuard is `vnfguard serve`'s ServiceAccount (install.RBAC's defaults); its token comes from the TokenRequest
	// API, as a pod's projected token would.
	VNFGuard = "system:serviceaccount:vnfguard:vnfguard"
	// Scanner runs `vnfguard scan`, bound to ClusterRole vnfguard-scanner.
	Scanner = "vnfguard-scanner"
)

// vnfguardRBAC is what the lab installs: re-apply allowed on the configurations `vnfguard webhook-config` names.
var vnfguardRBAC = install.Options{WebhookConfigurations: []string{"vnfguard"}, Reapply: true}

// installVNFGuardRBAC creates vnfguard's namespace and applies install.RBAC (as `vnfguard rbac | kubectl apply`
// would), binds the scanner, and gives the lab a client and kubeconfig of vnfguard's ServiceAccount.
func (cp *ControlPlane) installVNFGuardRBAC(ctx context.Context, admissionPolicies bool) error {
	admin := cp.clients[Admin]
	o := vnfguardRBAC
	o.AdmissionPolicies = admissionPolicies
	if err := cp.EnsureNamespace(ctx, "vnfguard", nil); err != nil {
		return err
	}
	objs := install.RBAC(o)
	objs = append(objs, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "lab-" + install.ScannerRole},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: install.ScannerRole},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: Scanner}},
	})
	if err := applyRBAC(ctx, admin, objs); err != nil {
		return err
	}
	// A day: longer than any lab run. The API server signs it with the lab's service-account key.
	expiry := int64(24 * 3600)
	tr, err := admin.CoreV1().ServiceAccounts("vnfguard").CreateToken(ctx, "vnfguard",
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("lab: token of vnfguard's ServiceAccount: %w", err)
	}
	cp.tokens[VNFGuard] = tr.Status.Token
	return cp.addIdentity(VNFGuard)
}

// grantNamespaceData binds vnfguard's Secrets/ConfigMaps role in a protected namespace, as an operator does for
// each namespace they protect.
func (cp *ControlPlane) grantNamespaceData(ctx context.Context, namespace string) error {
	return applyRBAC(ctx, cp.clients[Admin], []runtime.Object{install.DataRoleBinding(namespace, vnfguardRBAC)})
}

// applyRBACOf applies the RoleBindings `binary rbac --config configPath` prints for the namespaces the
// configuration protects by name, creating those namespaces when they do not exist yet.
func (cp *ControlPlane) applyRBACOf(ctx context.Context, binary, configPath string) error {
	cmd := exec.CommandContext(ctx, binary, "rbac", "--config", configPath, "-o", "json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("lab: %s rbac: %w: %s", binary, err, strings.TrimSpace(stderr.String()))
	}
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return fmt.Errorf("lab: output of %s rbac: %w", binary, err)
	}
	var bindings []runtime.Object
	for _, raw := range list.Items {
		var head metav1.TypeMeta
		if err := json.Unmarshal(raw, &head); err != nil {
			return fmt.Errorf("lab: output of %s rbac: %w", binary, err)
		}
		if head.Kind != "RoleBinding" {
			continue // the cluster-wide part is installed with the control plane
		}
		rb := &rbacv1.RoleBinding{}
		if err := json.Unmarshal(raw, rb); err != nil {
			return fmt.Errorf("lab: output of %s rbac: %w", binary, err)
		}
		if err := cp.EnsureNamespace(ctx, rb.Namespace, nil); err != nil {
			return err
		}
		bindings = append(bindings, rb)
	}
	return applyRBAC(ctx, cp.clients[Admin], bindings)
}

// applyRBAC creates the objects, replacing those that exist.
func applyRBAC(ctx context.Context, cs kubernetes.Interface, objs []runtime.Object) error {
	for _, obj := range objs {
		var err error
		switch o := obj.(type) {
		case *corev1.ServiceAccount:
			_, err = cs.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.ClusterRole:
			if _, err = cs.RbacV1().ClusterRoles().Create(ctx, o, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
				_, err = cs.RbacV1().ClusterRoles().Update(ctx, o, metav1.UpdateOptions{})
			}
		case *rbacv1.Role:
			if _, err = cs.RbacV1().Roles(o.Namespace).Create(ctx, o, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
				_, err = cs.RbacV1().Roles(o.Namespace).Update(ctx, o, metav1.UpdateOptions{})
			}
		case *rbacv1.ClusterRoleBinding:
			_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.RoleBinding:
			_, err = cs.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		default:
			err = fmt.Errorf("unexpected %T", obj)
		}
		if err != nil && !apierrors.IsAlreadyExists(err) {
			m, _ := obj.(metav1.Object)
			return fmt.Errorf("lab: apply vnfguard's RBAC (%T %s): %w", obj, m.GetName(), err)
		}
	}
	return nil
}
