// Package ociimage builds vnfguard's container image from a static binary with go-containerregistry's own API, so
// that no Docker daemon, BuildKit or base image is needed, and writes it as an OCI image layout or pushes it to a
// registry.
//
// The image is one layer on nothing (FROM scratch): /vnfguard, and /etc/passwd and /etc/group naming the non-root
// user 65532:65532 the image runs as (a named user, so tools and runtimes that look the user up find it). Everything
// in the layer is owned by root and not writable by anyone, so the process cannot modify its own binary even when the
// root filesystem is left writable. vnfguard writes nothing unless told to (its store, audit queue and --write-ca
// are flags that name volumes), so the image runs with a read-only root filesystem.
//
// The same binary and the same Options give the same digest, byte for byte: the tar entries are in a fixed order with
// fixed owners, modes and modification times (Options.Created), the gzip stream carries no name or time, and the
// image's config carries no build-host detail. Build refuses a binary that is not a statically linked ELF executable
// (one with a program interpreter or a dynamic section would not start in an image without a C library).
package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// UID and GID are the user and group the image runs as: the "nonroot" user of distroless images, so that
	// policies written for those (runAsUser: 65532) fit vnfguard too.
	UID = 65532
	GID = 65532
	// BinaryPath is where the binary lives in the image and what the entrypoint runs.
	BinaryPath = "/vnfguard"

	// The OCI annotation keys (image-spec annotations.md) the config's labels use.
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
	LabelVersion  = "org.opencontainers.image.version"
	LabelCreated  = "org.opencontainers.image.created"
	LabelTitle    = "org.opencontainers.image.title"
	// RefNameAnnotation names the image inside an OCI layout's index (image-spec image-layout.md).
	RefNameAnnotation = "org.opencontainers.image.ref.name"
)

// Files of the layer besides the binary. root keeps uid 0 resolvable; nonroot has no shell and a home that does
// not exist, so nothing is tempted to write one.
var (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n"
	group  = "root:x:0:\nnonroot:x:65532:\n"
)

// Options describes the build: what goes into the labels and the times. Only Version is required; an empty Revision
// or Source leaves its label out rather than guessing.
type Options struct {
	Version  string // org.opencontainers.image.version and the layout's ref name, e.g. `git describe` output
	Revision string // org.opencontainers.image.revision: the commit the binary was built from
	Source   string // org.opencontainers.image.source: where that commit can be found
	// Created is the image's creation time and every file's modification time. Give the commit's time (as
	// SOURCE_DATE_EPOCH does) so that the same commit always gives the same digest; the zero value means the Unix
	// epoch, never the current time.
	Created time.Time
}

// Build returns the image holding the static binary at binaryPath. The platform in the config is the binary's own
// (linux and the ELF machine), so it cannot disagree with what the layer holds.
func Build(binaryPath string, opts Options) (v1.Image, error) {
	if opts.Version == "" {
		return nil, errors.New("build image: no version given")
	}
	bin, err := os.ReadFile(binaryPath)
	if err != nil {
		return nil, fmt.Errorf("build image: read the binary: %w", err)
	}
	arch, err := StaticELF(bytes.NewReader(bin))
	if err != nil {
		return nil, fmt.Errorf("build image: %s: %w", binaryPath, err)
	}
	created := opts.Created.UTC().Truncate(time.Second)
	if opts.Created.IsZero() {
		created = time.Unix(0, 0).UTC()
	}
	layerBytes, err := layerTarGz(bin, created)
	if err != nil {
		return nil, fmt.Errorf("build image: the layer: %w", err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("build image: the layer: %w", err)
	}

	// OCI media types throughout: empty.Image starts as a Docker schema 2 manifest.
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: created}, CreatedBy: "vnfguard hack/image: " + BinaryPath + ", /etc/passwd, /etc/group", Comment: "static binary, user 65532"},
	})
	if err != nil {
		return nil, fmt.Errorf("build image: append the layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("build image: read back the config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: created}
	cf.OS, cf.Architecture = "linux", arch
	labels := map[string]string{LabelTitle: "vnfguard", LabelVersion: opts.Version, LabelCreated: created.Format(time.RFC3339)}
	if opts.Revision != "" {
		labels[LabelRevision] = opts.Revision
	}
	if opts.Source != "" {
		labels[LabelSource] = opts.Source
	}
	cf.Config = v1.Config{
		Entrypoint: []string{BinaryPath},
		User:       fmt.Sprintf("%d:%d", UID, GID),
		WorkingDir: "/",
		Labels:     labels,
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, fmt.Errorf("build image: set the config: %w", err)
	}
	// The same labels as manifest annotations, where registries and `oras`/`crane manifest` show them.
	annotated, ok := mutate.Annotations(img, labels).(v1.Image)
	if !ok {
		return nil, errors.New("build image: annotating the manifest did not give an image")
	}
	return annotated, nil
}

// StaticELF checks that r is an ELF executable that needs no dynamic loader — no PT_INTERP program header and no
// dynamic section — and returns its GOARCH.
func StaticELF(r io.ReaderAt) (arch string, err error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return "", fmt.Errorf("not an ELF file: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			return "", errors.New("dynamically linked (it has a program interpreter, PT_INTERP): build with CGO_ENABLED=0")
		case elf.PT_DYNAMIC:
			return "", errors.New("dynamically linked (it has a PT_DYNAMIC segment): build with CGO_ENABLED=0")
		}
	}
	if s := f.Section(".dynamic"); s != nil {
		return "", errors.New("dynamically linked (it has a .dynamic section): build with CGO_ENABLED=0")
	}
	if f.Type != elf.ET_EXEC {
		// A shared object, or a static-pie executable that needs self-relocation: not what `go build` makes with
		// CGO_ENABLED=0 for linux, and not worth trusting to start without a loader.
		return "", fmt.Errorf("ELF type %s, want an executable (%s): build with CGO_ENABLED=0 and without -buildmode=pie", f.Type, elf.ET_EXEC)
	}
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	}
	return "", fmt.Errorf("ELF machine %s: only amd64 and arm64 images are built", f.Machine)
}

// layerTarGz is the layer: the entries in lexical order (etc/ before its files), root-owned, read-only, all with the
// same modification time, compressed by a gzip writer whose header has no name and no time.
func layerTarGz(bin []byte, mtime time.Time) ([]byte, error) {
	type entry struct {
		name string
		mode int64
		body []byte
		dir  bool
	}
	entries := []entry{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o444, body: []byte(group)},
		{name: "etc/passwd", mode: 0o444, body: []byte(passwd)},
		{name: strings.TrimPrefix(BinaryPath, "/"), mode: 0o555, body: bin},
	}
	var buf bytes.Buffer
	// The default level: on vnfguard's 100 MB binary, BestCompression is 2.5 times slower for 0.4 % less.
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Size: int64(len(e.body)), ModTime: mtime, Uname: "root", Gname: "root",
			Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
		if e.dir {
			h.Typeflag = tar.TypeDir
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteLayout writes img as the only image of an OCI image layout at dir (replacing what was there), named by
// Options.Version through the org.opencontainers.image.ref.name annotation, as `skopeo copy oci:DIR:VERSION`,
// `crane push DIR` and containerd's `ctr image import` expect.
func WriteLayout(dir string, img v1.Image, refName string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("write OCI layout %s: remove the old one: %w", dir, err)
	}
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{
		Add:        img,
		Descriptor: v1.Descriptor{Annotations: map[string]string{RefNameAnnotation: refName}},
	})
	if _, err := layout.Write(dir, idx); err != nil {
		return fmt.Errorf("write OCI layout %s: %w", dir, err)
	}
	return nil
}

// Push uploads img to ref (REGISTRY/REPOSITORY[:TAG]; without a tag, defaultTag) and returns the pushed image's
// reference by digest. Registries on loopback (127.0.0.0/8, [::1], localhost) are spoken to over plain HTTP, as
// go-containerregistry's name package decides (it also tries HTTP after HTTPS for RFC 1918 and *.local hosts);
// credentials come from the Docker config (~/.docker/config.json) when it has some for the registry.
func Push(ctx context.Context, ref string, img v1.Image, defaultTag string) (name.Digest, error) {
	if !hasTagOrDigest(ref) && defaultTag != "" {
		ref += ":" + defaultTag
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return name.Digest{}, fmt.Errorf("push image: reference %q: %w", ref, err)
	}
	if err := remote.Write(r, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return name.Digest{}, fmt.Errorf("push image to %s: %w", r, err)
	}
	d, err := img.Digest()
	if err != nil {
		return name.Digest{}, fmt.Errorf("push image: its digest: %w", err)
	}
	return r.Context().Digest(d.String()), nil
}

// hasTagOrDigest reports whether ref names a tag or digest in its last path element (a registry's port has its
// colon before the first slash).
func hasTagOrDigest(ref string) bool {
	last := ref[strings.LastIndex(ref, "/")+1:]
	return strings.ContainsAny(last, ":@")
}
