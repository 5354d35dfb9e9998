package vnfpkg

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vnfguard/vnfguard/internal/inventory/file"
)

// catalogueEntry is one vnfPackages entry, in the field names internal/inventory/file reads.
type catalogueEntry struct {
	VnfdID             string         `yaml:"vnfdId"`
	VnfProvider        string         `yaml:"vnfProvider,omitempty"`
	VnfProductName     string         `yaml:"vnfProductName,omitempty"`
	VnfSoftwareVersion string         `yaml:"vnfSoftwareVersion,omitempty"`
	Images             []catalogueImg `yaml:"images"`
}

type catalogueImg struct {
	Name   string `yaml:"name,omitempty"`
	Image  string `yaml:"image"`
	Digest string `yaml:"digest,omitempty"`
}

// Import merges pkg into the vnfPackages catalogue at path: the entry with pkg's vnfdId is replaced (or added), the
// rest of the document — other packages, vnfInstances, comments — is kept. The new catalogue is validated with
// file.ParsePackages before it replaces the old one, through a temporary file and a rename, so a reader (the
// file inventory's watcher) never sees half a file. A missing file is created. replaced reports whether the
// catalogue already held the vnfdId.
func Import(path string, pkg *Package) (replaced bool, err error) {
	if pkg == nil || pkg.VnfdID == "" {
		return false, errors.New("import VNF package: no vnfdId")
	}
	old, err := os.ReadFile(path)
	mode := fs.FileMode(0o644)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		old = nil
	case err != nil:
		return false, fmt.Errorf("read VNF packages catalogue: %w", err)
	default:
		if st, err := os.Stat(path); err == nil {
			mode = st.Mode().Perm()
		}
		if !emptyDocument(old) {
			if _, err := file.ParsePackages(old, path); err != nil {
				return false, fmt.Errorf("the VNF packages catalogue is invalid, not changing it: %w", err)
			}
		}
	}
	out, replaced, err := merge(old, pkg)
	if err != nil {
		return false, fmt.Errorf("merge into %s: %w", path, err)
	}
	got, err := file.ParsePackages(out, path)
	if err != nil {
		return false, fmt.Errorf("the merged catalogue would be invalid, not writing it: %w", err)
	}
	if len(got[pkg.VnfdID]) != len(pkg.Images) {
		return false, fmt.Errorf("the merged catalogue declares %d images for %s, want %d", len(got[pkg.VnfdID]), pkg.VnfdID, len(pkg.Images))
	}
	if err := writeAtomic(path, out, mode); err != nil {
		return false, err
	}
	return replaced, nil
}

// merge edits the YAML document as a node tree, so that what it does not touch stays as written.
func merge(old []byte, pkg *Package) ([]byte, bool, error) {
	var doc yaml.Node
	if !emptyDocument(old) {
		if err := yaml.Unmarshal(old, &doc); err != nil {
			return nil, false, err
		}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
		root := doc.Content[0]
		root.Content = append(root.Content, str("apiVersion"), str(file.APIVersion), str("kind"), str(file.Kind))
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, false, errors.New("the catalogue is not an Inventory document (a list of instances has no vnfPackages)")
	}
	entry := catalogueEntry{VnfdID: pkg.VnfdID, VnfProvider: pkg.Provider, VnfProductName: pkg.ProductName, VnfSoftwareVersion: pkg.SoftwareVersion, Images: []catalogueImg{}}
	for _, img := range pkg.Images {
		ci := catalogueImg(img)
		if strings.HasSuffix(ci.Image, "@"+ci.Digest) {
			ci.Digest = "" // the reference carries it; file.ParsePackages derives it from there
		}
		entry.Images = append(entry.Images, ci)
	}
	var node yaml.Node
	if err := node.Encode(entry); err != nil {
		return nil, false, err
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "vnfPackages" {
			list = root.Content[i+1]
		}
	}
	if list == nil || list.Kind != yaml.SequenceNode {
		if list == nil {
			list = &yaml.Node{Kind: yaml.SequenceNode}
			root.Content = append(root.Content, str("vnfPackages"), list)
		} else {
			*list = yaml.Node{Kind: yaml.SequenceNode} // vnfPackages: (null) — nothing to keep
		}
	}
	list.Style = 0 // a flow-style list would put the whole new entry on one line
	replaced := false
	for i, item := range list.Content {
		for j := 0; j+1 < len(item.Content); j += 2 {
			if item.Content[j].Value == "vnfdId" && item.Content[j+1].Value == pkg.VnfdID {
				list.Content[i], replaced = &node, true
			}
		}
	}
	if !replaced {
		list.Content = append(list.Content, &node)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, false, err
	}
	if err := enc.Close(); err != nil {
		return nil, false, err
	}
	return buf.Bytes(), replaced, nil
}

// emptyDocument reports whether data holds no YAML document (nothing, or only comments): a catalogue to start.
func emptyDocument(data []byte) bool {
	var doc yaml.Node
	return yaml.Unmarshal(data, &doc) == nil && len(doc.Content) == 0
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// writeAtomic writes data to a temporary file next to path and renames it over path.
func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write VNF packages catalogue: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write VNF packages catalogue: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write VNF packages catalogue: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write VNF packages catalogue: %w", err)
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return fmt.Errorf("write VNF packages catalogue: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write VNF packages catalogue: %w", err)
	}
	return nil
}
