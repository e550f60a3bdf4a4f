package mcpserver_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"lakehouse/app/apptest"
	"lakehouse/app/cli"
)

// TestMain lets the test binary act as `lakehouse mcp` when re-executed,
// so the MCP client below talks to a real stdio process.
func TestMain(m *testing.M) {
	if url := os.Getenv("LAKEHOUSE_MCP_CHILD_SERVER"); url != "" {
		os.Exit(cli.Main([]string{"mcp", "--server", url}, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// connect starts `lakehouse mcp` as a subprocess against s and returns a
// real MCP client session over its stdin/stdout.
func connect(t *testing.T, s *apptest.Server) *mcp.ClientSession {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LAKEHOUSE_MCP_CHILD_SERVER="+s.URL, "AUTH_TOKEN="+s.Token)
	cmd.Stderr = os.Stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "lakehouse-test", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sess, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("mcp connect: %v", err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	return sess
}

func callTool(t *testing.T, sess *mcp.ClientSession, name string, args any) (*mcp.CallToolResult, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := sess.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	var text strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text.WriteString(tc.Text)
		}
	}
	return res, text.String()
}

func TestMCPToolsOverStdio(t *testing.T) {
	s := apptest.Start(t)
	csv := "candidate_id,name,city,years\nCAND-000001,Ada,Chicago,7\nCAND-000002,Bo,Denver,2\n"
	resp, body := s.Do(t, "POST", "/v1/ingest?name=candidates", strings.NewReader(csv))
	if resp.StatusCode != 201 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}
	sess := connect(t, s)

	tools, err := sess.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	for _, want := range []string{"list_datasets", "get_manifest", "query_sql", "embed_text", "search_vectors", "remember", "recall"} {
		if !strings.Contains(strings.Join(names, ","), want) {
			t.Errorf("tool %s missing from %v", want, names)
		}
	}

	res, text := callTool(t, sess, "list_datasets", map[string]any{})
	if res.IsError || !strings.Contains(text, `"candidates"`) {
		t.Fatalf("list_datasets: error=%v %s", res.IsError, text)
	}
	res, text = callTool(t, sess, "query_sql", map[string]any{"sql": "SELECT name FROM candidates WHERE years > 5"})
	if res.IsError || !strings.Contains(text, "Ada") || strings.Contains(text, "Bo") {
		t.Fatalf("query_sql: error=%v %s", res.IsError, text)
	}
	// A non-2xx answer is a tool error the agent can read, not a transport error.
	res, text = callTool(t, sess, "query_sql", map[string]any{"sql": "SELECT * FROM no_such_table"})
	if !res.IsError || !strings.Contains(text, "400") {
		t.Fatalf("bad SQL: error=%v %s", res.IsError, text)
	}
	res, text = callTool(t, sess, "get_manifest", map[string]any{"name": "nope"})
	if !res.IsError || !strings.Contains(text, "404") {
		t.Fatalf("unknown manifest: error=%v %s", res.IsError, text)
	}
	res, text = callTool(t, sess, "remember", map[string]any{"content": map[string]any{"query": "forklift Chicago", "worked": true}, "tags": []string{"search"}})
	if res.IsError {
		t.Fatalf("remember: %s", text)
	}
	var trace map[string]any
	if err := json.Unmarshal([]byte(text), &trace); err != nil || trace["uid"] == "" {
		t.Fatalf("remember answer: %s", text)
	}
	res, text = callTool(t, sess, "recall", map[string]any{"text": "forklift", "tags": []string{"search"}})
	if res.IsError || !strings.Contains(text, "forklift Chicago") {
		t.Fatalf("recall: error=%v %s", res.IsError, text)
	}
}

func TestMCPReportsUnreachableServerAsToolError(t *testing.T) {
	s := apptest.Start(t)
	sess := connect(t, s)
	s.Stop(t)
	res, text := callTool(t, sess, "list_datasets", map[string]any{})
	if !res.IsError || !strings.Contains(text, "unreachable") {
		t.Fatalf("stopped server: error=%v %s", res.IsError, text)
	}
}
