package vnfmtest

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// etsi holds ETSI's SOL003 OpenAPI documents (see testdata/etsi/README.md), in their published relative layout so
// that their $refs resolve.
//
//go:embed testdata/etsi
var etsi embed.FS

// The documents the contract checks use, relative to testdata/etsi.
const (
	LCMSpec          = "SOL003/VNFLifecycleManagement/VNFLifecycleManagement.yaml"
	NotificationSpec = "SOL003/VNFLifecycleManagementNotification/VNFLifecycleManagementNotification.yaml"
)

// apiVersionsPath is the /api_versions entry of the LCM document, dropped before loading.
const apiVersionsPath = "  /api_versions:\n    $ref: ../../endpoints/SOL002SOL003_endpoints.yaml#/endpoints/api-versions\n"

// BasePath is where the VNF LCM API lives under the API root.
const BasePath = "/vnflcm/v2"

// Spec is one loaded ETSI OpenAPI document and a router over its operations.
type Spec struct {
	Doc    *openapi3.T
	Router routers.Router
}

var (
	specOnce  sync.Once
	lcm, ntf  *Spec
	errLoaded error
)

// Specs loads (once) the VNF LCM document, served under BasePath, and the LCM notification document, whose paths
// stand for the subscriber's callbackUri.
func Specs() (lcmSpec, notificationSpec *Spec, err error) {
	specOnce.Do(func() {
		if lcm, errLoaded = load(LCMSpec, BasePath); errLoaded != nil {
			return
		}
		ntf, errLoaded = load(NotificationSpec, "")
	})
	return lcm, ntf, errLoaded
}

// FS returns the embedded ETSI documents, rooted at testdata/etsi.
func FS() fs.FS {
	sub, err := fs.Sub(etsi, "testdata/etsi")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

func load(name, basePath string) (*Spec, error) {
	root := FS()
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	loader.ReadFromURIFunc = func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		if u.Scheme != "" || u.Host != "" {
			return nil, fmt.Errorf("reference %s leaves the embedded ETSI documents", u)
		}
		return fs.ReadFile(root, strings.TrimPrefix(path.Clean(u.Path), "/"))
	}
	data, err := fs.ReadFile(root, name)
	if err != nil {
		return nil, fmt.Errorf("load ETSI OpenAPI %s: %w", name, err)
	}
	// /api_versions refers to SOL002's definitions, which this copy does not hold; vnfguard does not call it.
	data = bytes.Replace(data, []byte(apiVersionsPath), nil, 1)
	doc, err := loader.LoadFromDataWithPath(data, &url.URL{Path: name})
	if err != nil {
		return nil, fmt.Errorf("load ETSI OpenAPI %s: %w", name, err)
	}
	if err := correctSubscriptionList(doc); err != nil {
		return nil, fmt.Errorf("load ETSI OpenAPI %s: %w", name, err)
	}
	// The documents name http(s)://127.0.0.1 without a port; the router must match any host and port.
	doc.Servers = openapi3.Servers{{URL: basePath}}
	if basePath == "" {
		doc.Servers = nil
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route ETSI OpenAPI %s: %w", name, err)
	}
	return &Spec{Doc: doc, Router: router}, nil
}

// correctSubscriptionList fixes an erratum of the published document: its response Subscriptions.Get.200 (GET
// /subscriptions) has the schema of one LccnSubscription, although its own description says the body "shall
// contain in an array the representations of all active subscriptions", and Tacker
// answers with an array. The checks use an array of LccnSubscription.
func correctSubscriptionList(doc *openapi3.T) error {
	if doc.Components == nil || doc.Components.Responses == nil {
		return nil // the notification document has no subscriptions
	}
	resp := doc.Components.Responses["Subscriptions.Get.200"]
	if resp == nil {
		return nil
	}
	media := resp.Value.Content.Get("application/json")
	if media == nil || media.Schema == nil || media.Schema.Value == nil || media.Schema.Value.Type.Is(openapi3.TypeArray) {
		return fmt.Errorf("response Subscriptions.Get.200 is no longer the known erratum (a single LccnSubscription): review correctSubscriptionList")
	}
	list := openapi3.NewArraySchema()
	list.Items = media.Schema
	media.Schema = openapi3.NewSchemaRef("", list)
	return nil
}
