package mcpserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lakehouse/app/apptest"
)

// inspectorVersion is the MCP Inspector `make test-deps` installs.
const inspectorVersion = "2.12.0"

// inspectorPrefix is the npm prefix the inspector is installed under:
// LAKEHOUSE_MCP_INSPECTOR_PREFIX, else the tool cache `make test-deps` fills.
func inspectorPrefix(t *testing.T) string {
	t.Helper()
	prefix := os.Getenv("LAKEHOUSE_MCP_INSPECTOR_PREFIX")
	if prefix == "" {
		home, _ := os.UserHomeDir()
		prefix = filepath.Join(home, ".cache", "lakehouse", "npm", "inspector")
	}
	pkg := filepath.Join(prefix, "node_modules", "@modelcontextprotocol", "inspector", "package.json")
	data, err := os.ReadFile(pkg)
	_, npxErr := exec.LookPath("npx")
	if err != nil || npxErr != nil {
		msg := fmt.Sprintf("MCP Inspector not installed under %s (run `make test-deps`)", prefix)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var p struct{ Version string }
	if json.Unmarshal(data, &p) == nil && p.Version != inspectorVersion {
		t.Logf("MCP Inspector %s installed, tests are written for %s", p.Version, inspectorVersion)
	}
	return prefix
}

// TestMCPInspectorCLI drives `lakehouse mcp` in in-process mode with the
// MCP Inspector's CLI, a client written independently of the Go SDK: it
// lists and calls tools, lists and reads resources, and lists prompts.
// runInspector runs `mcp-inspector --cli <args>` from the npm prefix in
// work (its catalog file kept there) and returns its stdout, stderr and
// exit error.
func runInspector(prefix, work string, args ...string) ([]byte, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	argv := append([]string{"--prefix", prefix, "--no-install", "mcp-inspector", "--cli"}, args...)
	cmd := exec.CommandContext(ctx, "npx", argv...)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "MCP_CATALOG_PATH="+filepath.Join(work, "catalog.json"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	return out, stderr.String(), err
}

func TestMCPInspectorCLI(t *testing.T) {
	prefix := inspectorPrefix(t)
	dataDir := seededDataDir(t)
	work := t.TempDir()
	// Arguments after the server command are inspector options, and the
	// inspector passes the server only a minimal environment: a wrapper
	// script carries both.
	wrapper := "#!/bin/sh\n" + apptest.ChildScript("--config", testConfig(t, ""), "--data-dir", dataDir, "mcp")
	if err := os.WriteFile(filepath.Join(work, "wrapper.sh"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	// run returns the inspector's stdout, stderr and exit error.
	run := func(t *testing.T, method string, extra ...string) ([]byte, string, error) {
		t.Helper()
		return runInspector(prefix, work, append([]string{"./wrapper.sh", "--method", method}, extra...)...)
	}
	inspect := func(t *testing.T, method string, extra ...string) map[string]any {
		t.Helper()
		out, stderr, err := run(t, method, extra...)
		if err != nil {
			t.Fatalf("inspector %s: %v\nstdout: %s\nstderr: %s", method, err, out, stderr)
		}
		var res map[string]any
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("inspector %s: not JSON: %v\n%s", method, err, out)
		}
		return res
	}

	// --strict also fails on tool schemas other clients could not map.
	res := inspect(t, "tools/list", "--strict")
	var names []string
	for _, tool := range res["tools"].([]any) {
		names = append(names, tool.(map[string]any)["name"].(string))
	}
	for _, want := range allTools {
		if !strings.Contains(","+strings.Join(names, ",")+",", ","+want+",") {
			t.Errorf("tools/list: %s missing from %v", want, names)
		}
	}

	res = inspect(t, "tools/call", "--tool-name", "query_sql", "--tool-arg", "sql=SELECT name FROM candidates WHERE city = 'Chicago' ORDER BY name")
	if res["isError"] == true || fmt.Sprint(res["structuredContent"].(map[string]any)["rows"]) != "[[Ada] [Cy]]" {
		t.Fatalf("tools/call query_sql: %v", res)
	}
	res = inspect(t, "tools/call", "--tool-name", "describe_dataset", "--tool-arg", "name=candidates")
	if res["isError"] == true || !strings.Contains(fmt.Sprint(res["structuredContent"]), "Chicago") {
		t.Fatalf("tools/call describe_dataset: %v", res)
	}
	// An error result: the inspector exits non-zero and says the tool
	// returned isError (not that the transport failed).
	out, stderr, err := run(t, "tools/call", "--tool-name", "get_manifest", "--tool-arg", "name=nope")
	if err == nil || !strings.Contains(stderr, "tool_is_error") || !strings.Contains(string(out)+stderr, "404") {
		t.Fatalf("tools/call of an unknown dataset must be an error result: %v\nstdout: %s\nstderr: %s", err, out, stderr)
	}

	res = inspect(t, "resources/list")
	var uris []string
	for _, r := range res["resources"].([]any) {
		uris = append(uris, r.(map[string]any)["uri"].(string))
	}
	if !strings.Contains(strings.Join(uris, " "), "lakehouse://dataset/candidates@1") {
		t.Fatalf("resources/list: %v", uris)
	}
	for _, uri := range uris {
		res = inspect(t, "resources/read", "--uri", uri)
		text := res["contents"].([]any)[0].(map[string]any)["text"].(string)
		if !strings.Contains(text, `"sample"`) || !strings.Contains(text, `"schema"`) {
			t.Fatalf("resources/read %s: %s", uri, text)
		}
	}

	res = inspect(t, "prompts/list")
	got := fmt.Sprint(res["prompts"])
	if !strings.Contains(got, "staffing_analyst") || !strings.Contains(got, "shortlist_candidates") {
		t.Fatalf("prompts/list: %s", got)
	}
}
