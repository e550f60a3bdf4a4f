package apptest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"lakehouse/app/cli"
	"lakehouse/internal/crashtest"
)

// A test runs lakehouse as a separate process (to SIGKILL it, or to talk
// to it over stdio) through internal/crashtest: the CLI is the child
// named CLIChild, its arguments (JSON) the child's argument.

// CLIChild is the crashtest child that runs the CLI.
const CLIChild = "cli"

// CLI is the crashtest child running `lakehouse <args>` (a JSON list),
// after setup (test hooks, e.g. a stall at a kill point) when not nil.
// Packages with children of their own add it to theirs.
func CLI(setup func()) func(arg string) int {
	return func(raw string) int {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			fmt.Fprintln(os.Stderr, "apptest: bad CLI arguments:", err)
			return 2
		}
		if setup != nil {
			setup()
		}
		return cli.Main(args, os.Stdout, os.Stderr)
	}
}

// Main is a test package's TestMain body for packages whose only child
// is the CLI (see CLI).
func Main(m *testing.M, setup func()) {
	crashtest.Main(m, crashtest.Children{CLIChild: CLI(setup)})
}

// Child is a command running `lakehouse <args>` as this test binary, with
// env added to the process's environment; the caller starts it.
func Child(env []string, args ...string) *exec.Cmd {
	a, _ := json.Marshal(args)
	return crashtest.Command(CLIChild, string(a), env...)
}

// ChildScript is a shell line that runs `lakehouse <args>` as this test
// binary (for tools that take a command to start, like the MCP
// Inspector, which passes its server a minimal environment).
func ChildScript(args ...string) string {
	a, _ := json.Marshal(args)
	return crashtest.Script(CLIChild, string(a))
}

// WaitForFile waits until path exists (a child's hook writes it when it
// reached a kill point), failing the test after limit.
func WaitForFile(t testing.TB, path string, limit time.Duration) {
	t.Helper()
	crashtest.WaitForFile(t, path, limit)
}
