// Command opa is OPA's own CLI, built from the pinned module release so that
// tests and benchmarks run the exact OPA version named in go.mod.
package main

import (
	"os"

	"github.com/open-policy-agent/opa/cmd"
)

func main() {
	if err := cmd.RootCommand.Execute(); err != nil {
		os.Exit(1)
	}
}
