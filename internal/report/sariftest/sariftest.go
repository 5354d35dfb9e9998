// Package sariftest validates SARIF documents against the official OASIS SARIF 2.1.0 JSON schema kept in
// internal/report/testdata, for the tests of every package that writes SARIF.
package sariftest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaPath is the schema file, found next to this package's source so that any test can use it.
func SchemaPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "sarif-schema-2.1.0.json")
}

// Schema compiles the schema once, with format assertions on (uri, uri-reference, date-time), so that a malformed
// URI or time fails too.
var Schema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	path := SchemaPath()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(path, doc); err != nil {
		return nil, err
	}
	return c.Compile(path)
})

// Validate says whether doc is valid SARIF 2.1.0, and where it is not.
func Validate(doc []byte) error {
	sch, err := Schema()
	if err != nil {
		return fmt.Errorf("compile the SARIF schema: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return sch.Validate(inst)
}
