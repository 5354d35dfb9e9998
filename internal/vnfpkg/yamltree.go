package vnfpkg

import (
	"errors"

	"go.yaml.in/yaml/v3"
)

// maxYAMLNodes bounds the nodes a YAML file expands to: aliases can make a small file a huge tree ("billion
// laughs"), and vnfguard only needs the descriptors and values of ordinary charts.
const maxYAMLNodes = 1 << 20

// decodeYAML decodes YAML into maps, lists and strings. Scalars keep their text as written, so that an image tag
// "2.0" or "1.10" written without quotes stays "2.0" and "1.10" rather than a float's "2" and "1.1".
func decodeYAML(data []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	budget := maxYAMLNodes
	return tree(&doc, &budget, 0)
}

func tree(n *yaml.Node, budget *int, depth int) (any, error) {
	*budget--
	if *budget < 0 {
		return nil, errors.New("more than 1M YAML nodes once aliases are expanded")
	}
	if depth > 256 {
		return nil, errors.New("YAML nested more than 256 levels")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return tree(n.Content[0], budget, depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, nil
		}
		return tree(n.Alias, budget, depth+1)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := tree(n.Content[i+1], budget, depth+1)
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := tree(c, budget, depth+1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, nil
		}
		return n.Value, nil
	}
	return nil, nil
}
