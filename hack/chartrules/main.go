// Command chartrules prints the RBAC rules of internal/install for the Helm chart's files/rules.yaml, so that the
// chart and `vnfguard rbac` grant the same.
package main

import (
	"fmt"
	"os"

	"github.com/vnfguard/vnfguard/internal/install"
)

func main() {
	out, err := install.RulesYAML()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chartrules:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
