// Package deps pins modules that helpers are about to use; it is removed once they are imported for real.
package deps

import (
	_ "github.com/chromedp/chromedp"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "k8s.io/component-helpers/auth/rbac/validation"
	_ "k8s.io/kubelet/config/v1beta1"
)
