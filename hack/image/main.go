// Command image builds vnfguard's OCI image from a static vnfguard binary (internal/ociimage) and writes it as an
// OCI image layout and/or pushes it to a registry. `make image` builds the binary and runs it; it is a build tool,
// not part of the vnfguard binary.
//
//	go run ./hack/image --binary bin/linux-amd64/vnfguard --version v1.2.3 --layout bin/image [--push 127.0.0.1:5000/vnfguard]
//
// `make image` passes the commit as --revision and the commit's time as --created, so the same commit gives the same
// digest.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/vnfguard/vnfguard/internal/ociimage"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	binary := fs.String("binary", "", "the static vnfguard binary (CGO_ENABLED=0) to put into the image")
	version := fs.String("version", "", "org.opencontainers.image.version, the layout's ref name and the default tag to push")
	revision := fs.String("revision", "", "org.opencontainers.image.revision: the commit the binary was built from (make image: git rev-parse HEAD)")
	source := fs.String("source", "https://github.com/vnfguard/vnfguard", "org.opencontainers.image.source")
	created := fs.String("created", "", "creation time and every file's mtime, Unix seconds (default: $SOURCE_DATE_EPOCH, else 0; make image: the commit's time)")
	layoutDir := fs.String("layout", "", "write the image as an OCI image layout into this directory (replaced)")
	push := fs.String("push", "", "push the image to REGISTRY/REPOSITORY[:TAG] (default tag: --version); loopback registries over plain HTTP")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *binary == "" || *version == "" {
		return errors.New("--binary and --version are required")
	}
	if *layoutDir == "" && *push == "" {
		return errors.New("give --layout, --push or both")
	}
	opts := ociimage.Options{Version: *version, Revision: *revision, Source: *source}
	if err := createdTime(&opts, *created); err != nil {
		return err
	}

	start := time.Now()
	img, err := ociimage.Build(*binary, opts)
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("image digest: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("image config: %w", err)
	}
	manifest, err := img.Manifest()
	if err != nil {
		return fmt.Errorf("image manifest: %w", err)
	}
	size := manifest.Config.Size
	for _, l := range manifest.Layers {
		size += l.Size
	}
	fmt.Fprintf(stdout, "image %s: %s, %d bytes compressed, built in %s (revision %q, created %s)\n",
		opts.Version, digest, size, time.Since(start).Round(time.Millisecond), opts.Revision, cf.Created.UTC().Format(time.RFC3339))
	if *layoutDir != "" {
		if err := ociimage.WriteLayout(*layoutDir, img, opts.Version); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote OCI layout %s\n", *layoutDir)
	}
	if *push != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		ref, err := ociimage.Push(ctx, *push, img, opts.Version)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "pushed %s\n", ref)
	}
	return nil
}

// createdTime is --created, else SOURCE_DATE_EPOCH (the reproducible-builds convention), else the Unix epoch: never
// the current time, which would change the digest on every build.
func createdTime(opts *ociimage.Options, created string) error {
	switch {
	case created != "":
		return setUnix(opts, "--created", created)
	case os.Getenv("SOURCE_DATE_EPOCH") != "":
		return setUnix(opts, "SOURCE_DATE_EPOCH", os.Getenv("SOURCE_DATE_EPOCH"))
	}
	opts.Created = time.Unix(0, 0)
	return nil
}

func setUnix(opts *ociimage.Options, what, s string) error {
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q: want Unix seconds: %w", what, s, err)
	}
	opts.Created = time.Unix(sec, 0)
	return nil
}
