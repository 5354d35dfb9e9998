package sol003

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

func seed(f *testing.F, patterns ...string) {
	for _, pattern := range patterns {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

// FuzzDecodeInstances: no input panics, and an accepted list holds only instances vnfguard can use.
func FuzzDecodeInstances(f *testing.F) {
	seed(f, "testdata/instances/*.json", "testdata/instances/bad/*.json")
	f.Add([]byte(`[{"id":"a","vnfdId":"b","instantiationState":"INSTANTIATED","instantiatedVnfInfo":{"vnfState":"STOPPED","vnfcResourceInfo":[{"computeResource":{"resourceId":"p"}}]}}]`))
	f.Add([]byte(`[{"id": 1e400}]`))
	f.Add([]byte(`[{"id":"a","vnfdId":"b","instantiationState":"NOT_INSTANTIATED","vimConnectionInfo":{"v 1":{"vimType":"k","accessInfo":{"bearer_token":"t","username":"u"},"interfaceInfo":{"token":["x"]},"extra":{"a":[{"password":1}]}}}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := decodeInstances(data, "fuzz", 1)
		if err != nil {
			if list != nil {
				t.Fatal("instances with an error")
			}
			return
		}
		for _, inst := range list {
			if inst.ID == "" || inst.VnfdID == "" {
				t.Fatalf("accepted an instance without id or vnfdId: %+v", inst)
			}
			if s := inst.InstantiationState; s != vnf.Instantiated && s != vnf.NotInstantiated {
				t.Fatalf("accepted instantiationState %q", s)
			}
			if info := inst.InstantiatedVnfInfo; info != nil && info.VnfState != vnf.Started && info.VnfState != vnf.Stopped {
				t.Fatalf("accepted vnfState %q", info.VnfState)
			}
			if inst.InstantiationState == vnf.Instantiated && inst.InstantiatedVnfInfo == nil {
				t.Fatal("accepted an INSTANTIATED instance without instantiatedVnfInfo")
			}
			if len(inst.DisclosedCredentials) > maxCredentialPaths || !slices.IsSorted(inst.DisclosedCredentials) {
				t.Fatalf("disclosed credentials unbounded or unsorted: %q", inst.DisclosedCredentials)
			}
			for _, p := range inst.DisclosedCredentials {
				if !strings.HasPrefix(p, "vimConnectionInfo") {
					t.Fatalf("disclosed credential outside vimConnectionInfo: %q", p)
				}
			}
			for _, vim := range inst.VimConnectionInfo {
				for _, m := range []map[string]any{vim.InterfaceInfo, vim.Extra} {
					for k := range m {
						if vnf.IsCredentialKey(k) {
							t.Fatalf("kept the credential-bearing field %q", k)
						}
					}
				}
			}
			for _, name := range vnf.ResourceNames(inst) {
				if name == "" {
					t.Fatal("accepted an empty resource name")
				}
			}
		}
		vnf.NewSnapshot("fuzz", "v", inst0(), list) // indexing an accepted list must not panic either
	})
}

// FuzzDecodeNotification: no input panics, and an accepted notification names its type and instance.
func FuzzDecodeNotification(f *testing.F) {
	seed(f, "testdata/notifications/*.json", "testdata/notifications/bad/*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := DecodeNotification(data)
		if err != nil {
			if n != nil {
				t.Fatal("notification with an error")
			}
			return
		}
		if !notifications[n.NotificationType] || n.VnfInstanceID == "" || n.TimeStamp.IsZero() {
			t.Fatalf("accepted %+v", n)
		}
		if n.NotificationType == NotificationLcmOperationOccurrence && (!lcmOperations[n.Operation] || !lcmStates[n.OperationState]) {
			t.Fatalf("accepted operation %q state %q", n.Operation, n.OperationState)
		}
	})
}
