package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vnfguard/vnfguard/internal/report"
	"github.com/vnfguard/vnfguard/internal/vnf"
	"github.com/vnfguard/vnfguard/internal/vnfpkg"
)

// packageFlags are the options verify and import share.
type packageFlags struct {
	trustAnchors  []string
	allowUnsigned bool
	output        string
}

func (p *packageFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&p.trustAnchors, "trust-anchor", nil, "PEM CA certificate the provider's signing certificate must chain to (repeatable)")
	f.BoolVar(&p.allowUnsigned, "allow-unsigned", false, "accept a package whose manifest is not signed, or signed without a --trust-anchor to check it against")
	f.StringVarP(&p.output, "output", "o", "table", "output format: table or json")
}

// open verifies the package. A package that fails verification is exit 1 (the package is bad); a file that cannot
// be read or an unusable flag is exit 2.
func (p *packageFlags) open(path string) (*vnfpkg.Package, error) {
	if err := report.CheckFormat(p.output, report.RecordFormats); err != nil {
		return nil, usageError(err)
	}
	opts := vnfpkg.Options{AllowUnsigned: p.allowUnsigned}
	if len(p.trustAnchors) > 0 {
		pool, err := vnfpkg.LoadTrustAnchors(p.trustAnchors...)
		if err != nil {
			return nil, usageError(fmt.Errorf("--trust-anchor: %w", err))
		}
		opts.TrustAnchors = pool
	}
	pkg, err := vnfpkg.Open(path, opts)
	if err != nil {
		if isPackageProblem(err) {
			return nil, &exitCodeError{code: exitFindings, err: err}
		}
		return nil, usageError(err)
	}
	return pkg, nil
}

// isPackageProblem tells a bad package from a file that could not be read.
func isPackageProblem(err error) bool {
	for _, reason := range []error{vnfpkg.ErrFormat, vnfpkg.ErrUnsafePath, vnfpkg.ErrDuplicate, vnfpkg.ErrTooLarge, vnfpkg.ErrMissing,
		vnfpkg.ErrUnlisted, vnfpkg.ErrAlgorithm, vnfpkg.ErrHashMismatch, vnfpkg.ErrUnsigned, vnfpkg.ErrSignature, vnfpkg.ErrUntrusted} {
		if errors.Is(err, reason) {
			return true
		}
	}
	return false
}

// newPackageCommand is "vnfguard package": onboarding of ETSI SOL004 VNF packages.
func newPackageCommand(stdout, _ io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "package",
		Short: "Verify ETSI SOL004 VNF packages (CSAR) and import the images they declare into the packages catalogue",
		Long: `A VNF package (CSAR) is trusted only when every artifact matches the hash its manifest lists, every file is
listed, and the manifest is signed (CMS) by the provider's certificate, chained to a CA given with --trust-anchor.
The images its VNFD and Helm charts declare, with their digests, are what admission lets instances of the package
run: "import" writes them to the vnfPackages catalogue (inventory.sol003.packagesFile or a file inventory).

Exit codes: 0 the package is good (and imported), 1 it is not (tampered, unsigned, untrusted, tags without
--allow-tags), 2 usage or I/O error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.AddCommand(newPackageVerifyCommand(stdout), newPackageImportCommand(stdout))
	return cmd
}

func newPackageVerifyCommand(stdout io.Writer) *cobra.Command {
	var flags packageFlags
	cmd := &cobra.Command{
		Use:   "verify FILE.csar",
		Short: "Verify a VNF package's hashes, file list and signature, and list the images it declares",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			pkg, err := flags.open(args[0])
			if err != nil {
				return err
			}
			return printPackage(stdout, args[0], pkg, flags.output)
		},
	}
	flags.add(cmd)
	return cmd
}

func newPackageImportCommand(stdout io.Writer) *cobra.Command {
	var (
		flags     packageFlags
		packages  string
		allowTags bool
	)
	cmd := &cobra.Command{
		Use:   "import FILE.csar --packages packages.yaml",
		Short: "Verify a VNF package and add (or replace) its entry in the vnfPackages catalogue",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if packages == "" {
				return usageError(errors.New("--packages: give the catalogue file to import into (e.g. the file of inventory.sol003.packagesFile)"))
			}
			pkg, err := flags.open(args[0])
			if err != nil {
				return err
			}
			if u := pkg.Undigested(); len(u) > 0 && !allowTags {
				return &exitCodeError{code: exitFindings, err: fmt.Errorf("VNF package %s: %d image(s) without a digest (first: %s); admission requires digests, give --allow-tags to import anyway", args[0], len(u), u[0].Image)}
			}
			replaced, err := vnfpkg.Import(packages, pkg)
			if err != nil {
				return usageError(err)
			}
			if flags.output == "json" {
				return printPackage(stdout, args[0], pkg, flags.output)
			}
			verb := "added"
			if replaced {
				verb = "replaced"
			}
			fmt.Fprintf(stdout, "%s %s (%s %s %s, %d images) in %s\n", verb, pkg.VnfdID, pkg.Provider, pkg.ProductName, pkg.SoftwareVersion, len(pkg.Images), packages)
			for _, w := range pkg.Warnings {
				fmt.Fprintln(stdout, "warning:", w)
			}
			return nil
		},
	}
	flags.add(cmd)
	cmd.Flags().StringVar(&packages, "packages", "", "the vnfPackages catalogue (an Inventory document) to write; created if missing")
	cmd.Flags().BoolVar(&allowTags, "allow-tags", false, "import images without a digest (admission with registries.requireDigest still denies them)")
	return cmd
}

// packageView is the JSON output.
type packageView struct {
	File            string              `json:"file"`
	VnfdID          string              `json:"vnfdId"`
	Provider        string              `json:"vnfProvider"`
	ProductName     string              `json:"vnfProductName"`
	SoftwareVersion string              `json:"vnfSoftwareVersion,omitempty"`
	Signed          bool                `json:"signed"`
	Signer          string              `json:"signer,omitempty"`
	Artifacts       []vnfpkg.Artifact   `json:"artifacts"`
	Images          []vnf.DeclaredImage `json:"images"`
	Warnings        []string            `json:"warnings,omitempty"`
}

func printPackage(w io.Writer, file string, pkg *vnfpkg.Package, output string) error {
	if output == report.FormatJSON {
		v := packageView{File: file, VnfdID: pkg.VnfdID, Provider: pkg.Provider, ProductName: pkg.ProductName,
			SoftwareVersion: pkg.SoftwareVersion, Signed: pkg.Signed, Signer: pkg.Signer,
			Artifacts: pkg.Artifacts, Images: pkg.Images, Warnings: pkg.Warnings}
		if v.Artifacts == nil {
			v.Artifacts = []vnfpkg.Artifact{}
		}
		if v.Images == nil {
			v.Images = []vnf.DeclaredImage{}
		}
		return report.WriteRecords(w, output, &report.Records{Items: v})
	}
	signer := "not signed"
	switch {
	case pkg.Signed:
		signer = pkg.Signer + " (chains to a trust anchor)"
	case pkg.Signer != "":
		signer = pkg.Signer + " (NOT checked against a trust anchor)"
	}
	summary := &report.Records{Columns: []string{"Package:", file}, Rows: [][]string{{"VNFD:", pkg.VnfdID}, {"Provider:", pkg.Provider},
		{"Product:", pkg.ProductName + " " + pkg.SoftwareVersion}, {"Signer:", signer}}}
	artifacts := &report.Records{Columns: []string{"ARTIFACT", "ALGORITHM", "SIZE", "RESULT"}}
	for _, a := range pkg.Artifacts {
		result, size := "hash ok", fmt.Sprint(a.Size)
		if a.External {
			result, size = "external, not checked", "-"
		}
		artifacts.Rows = append(artifacts.Rows, []string{a.Path, a.Algorithm, size, result})
	}
	images := &report.Records{Columns: []string{"IMAGE", "REPOSITORY", "DIGEST"}}
	for _, img := range pkg.Images {
		repo, digest := strings.TrimSuffix(img.Image, "@"+img.Digest), img.Digest
		if digest == "" {
			digest = "NONE (a tag: admission requires digests)"
		}
		images.Rows = append(images.Rows, []string{img.Name, repo, digest})
	}
	for i, r := range []*report.Records{summary, artifacts, images} {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := report.WriteRecords(w, report.FormatTable, r); err != nil {
			return err
		}
	}
	for _, warning := range pkg.Warnings {
		fmt.Fprintln(w, "warning:", warning)
	}
	return nil
}
