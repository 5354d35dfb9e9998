package vnfpkg

import (
	"fmt"
	"sort"
	"strings"
)

// The TOSCA types (SOL001) the VNFD walk looks for.
const (
	typeVNF         = "tosca.nodes.nfv.VNF"
	typeOsContainer = "tosca.nodes.nfv.Vdu.OsContainer"
	typeVduCompute  = "tosca.nodes.nfv.Vdu.Compute"
	typeSwImage     = "tosca.artifacts.nfv.SwImage"
)

// vnfd is what the VNFD says about the VNF: its identity, from the tosca.nodes.nfv.VNF node.
type vnfd struct {
	descriptorID, provider, productName, softwareVersion string
}

// readVNFD walks the VNFD's files (the entry definitions and the other YAML under Definitions/): node_types and
// artifact_types give the derivation chains, node_templates the VNF node and the images. It is practical rather than
// a TOSCA processor: imports are not resolved, every YAML file of the package's definitions is read.
func readVNFD(files map[string][]byte, images *imageSet) (*vnfd, error) {
	docs := map[string]map[string]any{}
	derived := map[string]string{}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v, err := decodeYAML(files[n])
		if err != nil {
			return nil, fmt.Errorf("%s: %w: not valid YAML: %w", n, ErrFormat, err)
		}
		doc, _ := v.(map[string]any)
		docs[n] = doc
		for _, section := range []string{"node_types", "artifact_types"} {
			types, _ := doc[section].(map[string]any)
			for t, def := range types {
				d, _ := def.(map[string]any)
				if parent := scalar(d["derived_from"]); parent != "" {
					derived[t] = parent
				}
			}
		}
	}
	isA := func(t, base string) bool {
		for range 32 { // bounded: a derivation cycle in a crafted VNFD must not loop
			if t == base {
				return true
			}
			parent, ok := derived[t]
			if !ok {
				return false
			}
			t = parent
		}
		return false
	}
	out := &vnfd{}
	for _, n := range names {
		topo, _ := docs[n]["topology_template"].(map[string]any)
		nodes, _ := topo["node_templates"].(map[string]any)
		nodeNames := make([]string, 0, len(nodes))
		for k := range nodes {
			nodeNames = append(nodeNames, k)
		}
		sort.Strings(nodeNames)
		for _, nodeName := range nodeNames {
			node, _ := nodes[nodeName].(map[string]any)
			t := scalar(node["type"])
			props, _ := node["properties"].(map[string]any)
			from := fmt.Sprintf("%s: node_templates.%s", n, nodeName)
			switch {
			case isA(t, typeVNF):
				id := scalar(props["descriptor_id"])
				if out.descriptorID != "" && id != "" && id != out.descriptorID {
					return nil, fmt.Errorf("%s: %w: a second VNF node with descriptor_id %q (the first has %q)", from, ErrFormat, id, out.descriptorID)
				}
				if id != "" {
					out.descriptorID = id
				}
				out.provider = first(out.provider, scalar(props["provider"]))
				out.productName = first(out.productName, scalar(props["product_name"]))
				out.softwareVersion = first(out.softwareVersion, scalar(props["software_version"]))
			case isA(t, typeVduCompute):
				continue // a VM's software image is a disk image, not a container image
			case isA(t, typeOsContainer):
				imgName := first(scalar(props["name"]), nodeName)
				images.add(scalar(props["image"]), "", imgName, from+".properties.image")
				if swi, ok := props["sw_image_data"].(map[string]any); ok {
					images.add(scalar(swi["name"]), checksum(swi), imgName, from+".properties.sw_image_data")
				}
			}
			artifacts, _ := node["artifacts"].(map[string]any)
			artNames := make([]string, 0, len(artifacts))
			for k := range artifacts {
				artNames = append(artNames, k)
			}
			sort.Strings(artNames)
			for _, an := range artNames {
				a, ok := artifacts[an].(map[string]any)
				if !ok || !isA(scalar(a["type"]), typeSwImage) {
					continue
				}
				aprops, _ := a["properties"].(map[string]any)
				ref := first(scalar(a["file"]), scalar(a["image"]))
				images.add(ref, checksum(aprops), first(scalar(props["name"]), nodeName), from+".artifacts."+an)
			}
		}
	}
	return out, nil
}

// checksum is a SwImage's checksum as an image digest, when it is a SHA-256 one: for a container image SOL001's
// checksum is the image's (manifest) digest.
func checksum(props map[string]any) string {
	c, _ := props["checksum"].(map[string]any)
	alg := strings.ToLower(strings.ReplaceAll(scalar(c["algorithm"]), "-", ""))
	if alg != "sha256" {
		return ""
	}
	return strings.ToLower(scalar(c["hash"]))
}

func first(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
