package lab

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// KubernetesVersion is the version of the control-plane binaries hack/build-controlplane.sh builds.
const KubernetesVersion = "v1.34.4"

// ControlPlaneDirEnv names the environment variable that points at the control-plane binaries.
const ControlPlaneDirEnv = "VNFGUARD_CONTROLPLANE_DIR"

// DefaultBinDir is where the control-plane binaries are looked for: $VNFGUARD_CONTROLPLANE_DIR when set; else the
// first of these that holds kube-apiserver: .cache/k8s/<version> in the vnfguard repository containing the working
// directory or the running executable (bin/vnfguard), and ~/.cache/vnfguard/k8s/<version> (the Makefile's
// default). When none does, the first candidate, so that the error names a sensible place.
func DefaultBinDir() string {
	if dir := os.Getenv(ControlPlaneDirEnv); dir != "" {
		return dir
	}
	rel := filepath.Join(".cache", "k8s", KubernetesVersion)
	var candidates []string
	if wd, err := os.Getwd(); err == nil {
		if root := RepoRoot(wd); root != "" {
			candidates = append(candidates, filepath.Join(root, rel))
		}
	}
	if exe, err := os.Executable(); err == nil {
		if root := RepoRoot(filepath.Dir(exe)); root != "" {
			candidates = append(candidates, filepath.Join(root, rel))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".cache", "vnfguard", "k8s", KubernetesVersion))
	}
	if len(candidates) == 0 {
		return rel
	}
	for _, dir := range candidates {
		if st, err := os.Stat(filepath.Join(dir, "kube-apiserver")); err == nil && !st.IsDir() {
			return dir
		}
	}
	return candidates[0]
}

// RepoRoot walks up from dir to the directory whose go.mod declares the vnfguard module; "" when there is none.
func RepoRoot(dir string) string {
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(data, []byte("module github.com/vnfguard/vnfguard\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// BuildVNFGuard builds ./cmd/vnfguard of the repository at root into binary, for tests that run the real binary.
func BuildVNFGuard(root, binary string) error { return buildVNFGuard(root, binary, false) }

// BuildStaticVNFGuard builds ./cmd/vnfguard as `make image` does (CGO_ENABLED=0, -trimpath): the binary that
// internal/ociimage puts into vnfguard's image.
func BuildStaticVNFGuard(root, binary string) error { return buildVNFGuard(root, binary, true) }

func buildVNFGuard(root, binary string, static bool) error {
	args, what := []string{"build", "-o", binary, "./cmd/vnfguard"}, "go build ./cmd/vnfguard"
	build := exec.Command("go")
	if static {
		args, what = append([]string{"build", "-trimpath"}, args[1:]...), "CGO_ENABLED=0 "+what
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
	}
	build.Args = append(build.Args, args...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", what, err, out)
	}
	return nil
}

// HelmBinary builds (once, cached by hack/build-helm.sh) helm v4 for the repository at root and returns its path.
func HelmBinary(root string) (string, error) {
	out, err := exec.Command("bash", filepath.Join(root, "hack", "build-helm.sh")).Output()
	if err != nil {
		return "", fmt.Errorf("hack/build-helm.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1], nil
}

// PrepareE2E is the set-up every end-to-end test starts with: it checks that the control-plane binaries are there
// (without the controllers and kwok when apiServerOnly), finds the vnfguard repository around the working directory
// and builds the vnfguard binary into dir. It returns the binary's path; the error says what is missing.
func PrepareE2E(dir string, apiServerOnly bool) (string, error) {
	if err := CheckBinaries(DefaultBinDir(), apiServerOnly); err != nil {
		return "", fmt.Errorf("end-to-end tests need the real control plane: %w", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root := RepoRoot(wd)
	if root == "" {
		return "", fmt.Errorf("%s is not inside the vnfguard repository", wd)
	}
	binary := filepath.Join(dir, "vnfguard")
	return binary, BuildVNFGuard(root, binary)
}
