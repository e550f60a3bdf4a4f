package apptest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"lakehouse/app/cli"
)

// The one way a test runs lakehouse as a separate process (to SIGKILL it,
// or to talk to it over stdio): the test binary re-executes itself with
// the CLI's arguments in an environment variable, and TestMain hands such
// a process to the CLI instead of running tests.

// ChildArgsEnv holds the CLI arguments (JSON) of a child process.
const ChildArgsEnv = "LAKEHOUSE_TEST_CLI_ARGS"

// Main is a test package's TestMain body: in a child started by Child it
// runs setup (test hooks, e.g. a stall at a kill point) and then the CLI,
// and exits with its status; otherwise it runs the tests.
func Main(m *testing.M, setup func()) {
	if raw := os.Getenv(ChildArgsEnv); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			fmt.Fprintln(os.Stderr, "bad", ChildArgsEnv, err)
			os.Exit(2)
		}
		if setup != nil {
			setup()
		}
		os.Exit(cli.Main(args, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// Child is a command running `lakehouse <args>` as this test binary, with
// env added to the process's environment; the caller starts it.
func Child(env []string, args ...string) *exec.Cmd {
	a, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), ChildArgsEnv+"="+string(a)), env...)
	return cmd
}

// ChildScript is a shell line that runs `lakehouse <args>` as this test
// binary (for tools that take a command to start, like the MCP
// Inspector, which passes its server a minimal environment).
func ChildScript(args ...string) string {
	a, _ := json.Marshal(args)
	return "export " + ChildArgsEnv + "='" + string(a) + "'\nexec '" + os.Args[0] + "' -test.run='^$'\n"
}

// WaitForFile waits until path exists (a child's hook writes it when it
// reached a kill point), failing the test after limit.
func WaitForFile(t testing.TB, path string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child never wrote %s", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
