// Package crashtest is the one way a test runs part of itself as a
// separate process, to SIGKILL it at an arbitrary point or to talk to it
// over stdio: the test binary re-executes itself with the name of a child
// function and its argument in the environment, and the package's TestMain
// (Main) hands such a process to that function instead of running tests.
// The child is the code under test itself, not a mock, so what survives
// its kill is what survives a real one.
package crashtest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Environment variables naming a child process's function and argument.
const (
	ChildEnv = "LAKEHOUSE_TEST_CHILD"
	ArgEnv   = "LAKEHOUSE_TEST_CHILD_ARG"
)

// Children maps a child's name to what it runs: its argument in, its
// process exit status out (a crash child usually never returns).
type Children map[string]func(arg string) int

// Main is a test package's TestMain body: in a process started by Command
// it runs the named child and exits with its status; otherwise it runs
// the tests.
func Main(m *testing.M, children Children) {
	if name := os.Getenv(ChildEnv); name != "" {
		run, ok := children[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "crashtest: this test binary has no child %q\n", name)
			os.Exit(2)
		}
		os.Exit(run(os.Getenv(ArgEnv)))
	}
	os.Exit(m.Run())
}

// Command is a command running child name with arg as this test binary,
// with env added to the process's environment; the caller starts it.
func Command(name, arg string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), ChildEnv+"="+name, ArgEnv+"="+arg), env...)
	return cmd
}

// Script is a shell line that runs child name with arg as this test
// binary (for tools that take a command to start and pass it a minimal
// environment, like the MCP Inspector).
func Script(name, arg string) string {
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	return "export " + ChildEnv + "=" + quote(name) + " " + ArgEnv + "=" + quote(arg) + "\nexec " + quote(os.Args[0]) + " -test.run='^$'\n"
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
