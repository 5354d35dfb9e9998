package vnfpkg

import (
	"archive/zip"
	"crypto"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Limits bound what a package may hold, so that a zip bomb or a crafted archive cannot exhaust memory or time.
// Zero fields take the defaults.
type Limits struct {
	MaxEntries   int   // zip entries (default 10000)
	MaxFileSize  int64 // uncompressed bytes of one file (default 4 GiB: VM images can be big)
	MaxTotalSize int64 // uncompressed bytes of all files (default 16 GiB)
	// MaxParsedSize bounds the files read into memory to be parsed: TOSCA.meta, the manifest, the certificate, VNFD
	// YAML, Helm charts and their values.yaml (default 32 MiB).
	MaxParsedSize int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = 10000
	}
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = 4 << 30
	}
	if l.MaxTotalSize <= 0 {
		l.MaxTotalSize = 16 << 30
	}
	if l.MaxParsedSize <= 0 {
		l.MaxParsedSize = 32 << 20
	}
	return l
}

// archive is a checked zip: every entry has a safe, unique path and sizes within the limits.
type archive struct {
	files  map[string]*zip.File // regular files by path
	names  []string             // the regular files' paths, sorted
	limits Limits
}

// openArchive checks every entry's path and declared size. archive/zip refuses to read more bytes than an entry
// declares (ErrFormat), so checking declared sizes bounds what is decompressed.
func openArchive(r io.ReaderAt, size int64, limits Limits) (*archive, error) {
	zr, err := zip.NewReader(r, size)
	// Go reports a ".." or absolute name as ErrInsecurePath but still returns the reader: checkPath below gives the
	// precise error for the entry.
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, fmt.Errorf("%w: not a zip file: %w", ErrFormat, err)
	}
	if len(zr.File) > limits.MaxEntries {
		return nil, fmt.Errorf("%w: %d zip entries, the limit is %d", ErrTooLarge, len(zr.File), limits.MaxEntries)
	}
	a := &archive{files: map[string]*zip.File{}, limits: limits}
	dirs := map[string]bool{}
	var total uint64
	for _, f := range zr.File {
		isDir := strings.HasSuffix(f.Name, "/")
		name := strings.TrimSuffix(f.Name, "/")
		if err := checkPath(name); err != nil {
			return nil, err
		}
		if f.Mode()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("%s: %w: a symbolic link", name, ErrUnsafePath)
		}
		if _, dup := a.files[name]; dup || dirs[name] {
			return nil, fmt.Errorf("%s: %w: the zip holds it twice", name, ErrDuplicate)
		}
		if isDir || f.Mode().IsDir() {
			dirs[name] = true
			continue
		}
		if f.UncompressedSize64 > uint64(limits.MaxFileSize) {
			return nil, fmt.Errorf("%s: %w: %d bytes, the limit is %d", name, ErrTooLarge, f.UncompressedSize64, limits.MaxFileSize)
		}
		total += f.UncompressedSize64
		if total > uint64(limits.MaxTotalSize) {
			return nil, fmt.Errorf("%w: more than %d bytes uncompressed", ErrTooLarge, limits.MaxTotalSize)
		}
		a.files[name] = f
		a.names = append(a.names, name)
	}
	sort.Strings(a.names)
	return a, nil
}

// checkPath refuses a path that could escape a directory it is extracted to, or that names a file two ways.
func checkPath(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: an entry with an empty name", ErrUnsafePath)
	case strings.ContainsAny(name, "\\\x00"):
		return fmt.Errorf("%q: %w: a backslash or NUL in the name", name, ErrUnsafePath)
	case strings.HasPrefix(name, "/") || (len(name) > 1 && name[1] == ':'):
		return fmt.Errorf("%s: %w: an absolute path", name, ErrUnsafePath)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return fmt.Errorf("%s: %w: a \"..\" component (zip slip)", name, ErrUnsafePath)
		}
	}
	if path.Clean(name) != name {
		return fmt.Errorf("%s: %w: not a clean path (want %s)", name, ErrUnsafePath, path.Clean(name))
	}
	return nil
}

// has reports whether the package holds the regular file name.
func (a *archive) has(name string) bool { _, ok := a.files[name]; return ok }

// read reads a file to be parsed, within MaxParsedSize.
func (a *archive) read(name string) ([]byte, error) {
	f, ok := a.files[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, ErrMissing)
	}
	if f.UncompressedSize64 > uint64(a.limits.MaxParsedSize) {
		return nil, fmt.Errorf("%s: %w: %d bytes, the limit for a file vnfguard parses is %d", name, ErrTooLarge, f.UncompressedSize64, a.limits.MaxParsedSize)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrFormat, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, a.limits.MaxParsedSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrFormat, err)
	}
	return data, nil
}

// hash streams a file through h.
func (a *archive) hash(name string, h crypto.Hash) ([]byte, error) {
	f, ok := a.files[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, ErrMissing)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrFormat, err)
	}
	defer rc.Close()
	w := h.New()
	// archive/zip checks the CRC-32 and the declared size at EOF, so a corrupt entry is an error here.
	if _, err := io.Copy(w, rc); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrFormat, err)
	}
	return w.Sum(nil), nil
}
