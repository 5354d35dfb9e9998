package vnfpkg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// maxChartEntries bounds the entries of a chart archive read: a chart has tens of files, not thousands.
const maxChartEntries = 10000

// readCharts collects the images of the Helm charts the package ships: packaged charts (.tgz, .tar.gz) and chart
// directories (a Chart.yaml next to a values.yaml). Only values.yaml files are read, at any depth of the chart
// (subcharts unpacked under charts/ included); a packaged subchart inside a chart is not opened.
func readCharts(a *archive, images *imageSet) error {
	for _, n := range a.names {
		switch {
		case strings.HasSuffix(n, ".tgz") || strings.HasSuffix(n, ".tar.gz"):
			data, err := a.read(n)
			if err != nil {
				return err
			}
			values, err := chartValues(data, a.limits.MaxParsedSize)
			if err != nil {
				images.warnings = append(images.warnings, fmt.Sprintf("%s: not read as a Helm chart: %v", n, err))
				continue
			}
			for _, v := range values {
				if err := valuesImages(v.data, v.chart, n+"!"+v.path, images); err != nil {
					return err
				}
			}
		case path.Base(n) == "values.yaml" && a.has(path.Join(path.Dir(n), "Chart.yaml")):
			data, err := a.read(n)
			if err != nil {
				return err
			}
			if err := valuesImages(data, path.Base(path.Dir(n)), n, images); err != nil {
				return err
			}
		}
	}
	return nil
}

type valuesFile struct {
	path, chart string
	data        []byte
}

// chartValues reads the values.yaml files of a packaged chart, decompressing at most 8×limit bytes in all.
func chartValues(data []byte, limit int64) ([]valuesFile, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not gzip: %w", err)
	}
	tr := tar.NewReader(io.LimitReader(zr, 8*limit))
	var out []valuesFile
	isChart := false
	for i := 0; ; i++ {
		if i >= maxChartEntries {
			return nil, fmt.Errorf("%w: more than %d entries", ErrTooLarge, maxChartEntries)
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not a tar archive, or larger than %d bytes uncompressed: %w", 8*limit, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		parts := strings.Split(path.Clean(h.Name), "/")
		if len(parts) == 2 && parts[1] == "Chart.yaml" {
			isChart = true
		}
		if parts[len(parts)-1] != "values.yaml" || len(parts) < 2 {
			continue
		}
		if h.Size > limit {
			return nil, fmt.Errorf("%s: %w: %d bytes", h.Name, ErrTooLarge, h.Size)
		}
		b, err := io.ReadAll(io.LimitReader(tr, limit+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		out = append(out, valuesFile{path: h.Name, chart: parts[len(parts)-2], data: b})
	}
	if !isChart {
		return nil, errors.New("no Chart.yaml at the top of the archive")
	}
	return out, nil
}

// valuesImages collects the images of one values.yaml: "image: repo@sha256:…" strings, "image: {registry,
// repository, tag, digest}" maps, and repository+digest pairs at any depth. A key ending in "image" (initImage,
// sidecarImage) counts as an image key.
func valuesImages(data []byte, chart, from string, images *imageSet) error {
	values, err := decodeYAML(data)
	if err != nil {
		return fmt.Errorf("%s: %w: not valid YAML: %w", from, ErrFormat, err)
	}
	walkValues(values, chart, from, "", false, images, 0)
	return nil
}

func walkValues(v any, owner, from, field string, underImageKey bool, images *imageSet, depth int) {
	if depth > 64 {
		return // values nested this deep are not a chart's configuration
	}
	switch v := v.(type) {
	case map[string]any:
		repo := scalar(v["repository"])
		digest := scalar(v["digest"])
		if repo != "" && (digest != "" || underImageKey) {
			ref := repo
			if reg := scalar(v["registry"]); reg != "" {
				ref = strings.TrimSuffix(reg, "/") + "/" + repo
			}
			if tag := scalar(v["tag"]); tag != "" && digest == "" {
				ref += ":" + tag
			}
			images.add(ref, digest, owner, from+": "+strings.TrimPrefix(field, "."))
			return
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			imageKey := strings.HasSuffix(strings.ToLower(k), "image")
			if s, ok := v[k].(string); ok && imageKey {
				images.add(s, "", owner, from+": "+strings.TrimPrefix(field+"."+k, "."))
				continue
			}
			childOwner := k
			if imageKey {
				childOwner = owner
			}
			walkValues(v[k], childOwner, from, field+"."+k, imageKey, images, depth+1)
		}
	case []any:
		for i, item := range v {
			walkValues(item, owner, from, fmt.Sprintf("%s[%d]", field, i), underImageKey, images, depth+1)
		}
	}
}
