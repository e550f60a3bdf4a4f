package mcpserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/kit"
)

// bearer adds a token to every request of an MCP client.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

func connectHTTP(t *testing.T, s *apptest.Server, token string) (*mcp.ClientSession, error) {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "lakehouse-test", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr := &mcp.StreamableClientTransport{Endpoint: s.URL + "/mcp", MaxRetries: -1, DisableStandaloneSSE: true,
		HTTPClient: &http.Client{Transport: bearer{token: token, next: http.DefaultTransport}}}
	sess, err := client.Connect(ctx, tr, nil)
	if err == nil {
		t.Cleanup(func() { _ = sess.Close() })
	}
	return sess, err
}

// TestMCPOverStreamableHTTP: /mcp serves MCP behind the gate. The admin
// token gets every tool and answers; a reader limited to one dataset
// gets the read tools and sees only its dataset; no token is refused.
func TestMCPOverStreamableHTTP(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) {
		c.Auth.Principals = []config.PrincipalConfig{{Name: "agent", Role: "reader", Datasets: []string{"candidates"},
			TokenSHA256: kit.TokenHash("agent-tok")}}
	})
	ingest(t, s, "candidates", candidatesCSV)
	ingest(t, s, "payroll", "id,salary\n1,99999\n")

	if _, err := connectHTTP(t, s, "wrong"); err == nil {
		t.Fatal("a wrong token opened an MCP session")
	}
	admin, err := connectHTTP(t, s, apptest.Token)
	if err != nil {
		t.Fatal(err)
	}
	tools, err := admin.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tools.Tools) < 12 {
		t.Fatalf("admin lists %d tools", len(tools.Tools))
	}
	res, err := admin.CallTool(context.Background(), &mcp.CallToolParams{Name: "query_sql", Arguments: map[string]any{"sql": "SELECT count(*) AS n FROM candidates"}})
	if err != nil || res.IsError || !strings.Contains(fmt.Sprint(res.StructuredContent), "4") {
		t.Fatalf("admin query_sql: %v %+v", err, res)
	}

	// The team's saved queries: listed, and run by id with a parameter.
	s.JSON(t, "PUT", "/v1/workbench/queries/by-city", map[string]any{"name": "Candidates in a city",
		"sql": "SELECT name FROM candidates WHERE city = $1 ORDER BY name", "params": []map[string]any{{"name": "city", "type": "text", "default": "Denver"}}}, 201, nil)
	res, err = admin.CallTool(context.Background(), &mcp.CallToolParams{Name: "list_saved_queries", Arguments: map[string]any{}})
	if err != nil || res.IsError || !strings.Contains(fmt.Sprint(res.StructuredContent), "by-city") {
		t.Fatalf("list_saved_queries: %v %+v", err, res)
	}
	res, err = admin.CallTool(context.Background(), &mcp.CallToolParams{Name: "run_saved_query", Arguments: map[string]any{"id": "by-city", "params": map[string]any{"city": "Chicago"}}})
	if err != nil || res.IsError || fmt.Sprint(res.StructuredContent.(map[string]any)["rows"]) != "[[Ada] [Cy]]" {
		t.Fatalf("run_saved_query: %v %+v", err, res)
	}
	res, err = admin.CallTool(context.Background(), &mcp.CallToolParams{Name: "run_saved_query", Arguments: map[string]any{"id": "by-city"}})
	if err != nil || res.IsError || fmt.Sprint(res.StructuredContent.(map[string]any)["rows"]) != "[[Bo]]" {
		t.Fatalf("run_saved_query with the default: %v %+v", err, res)
	}

	agent, err := connectHTTP(t, s, "agent-tok")
	if err != nil {
		t.Fatal(err)
	}
	tools, err = agent.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	if slices.Contains(names, "remember") || slices.Contains(names, "index_dataset") || !slices.Contains(names, "query_sql") {
		t.Fatalf("reader's tools over HTTP: %v", names)
	}
	res, err = agent.CallTool(context.Background(), &mcp.CallToolParams{Name: "list_datasets", Arguments: map[string]any{"include_internal": true}})
	if err != nil || res.IsError {
		t.Fatalf("agent list_datasets: %v %+v", err, res)
	}
	if got := fmt.Sprint(res.StructuredContent); !strings.Contains(got, "candidates") || strings.Contains(got, "payroll") {
		t.Fatalf("agent sees: %s", got)
	}
	res, err = agent.CallTool(context.Background(), &mcp.CallToolParams{Name: "query_sql", Arguments: map[string]any{"sql": "SELECT * FROM payroll"}})
	if err != nil || !res.IsError || strings.Contains(fmt.Sprint(res.Content), "99999") {
		t.Fatalf("agent query on an ungranted dataset: %v %+v", err, res)
	}
	// The admin's session id is no use to the agent: 404, as for no session.
	req, _ := http.NewRequest("POST", s.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/list"}`))
	req.Header.Set("Authorization", "Bearer agent-tok")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", admin.ID())
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 404 {
		t.Fatalf("the agent with the admin's session id: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	// The agent's calls are audited under its name.
	var evs struct {
		Events []map[string]any `json:"events"`
	}
	s.JSON(t, "GET", "/v1/observer/events?source=mcp&limit=100", nil, 200, &evs)
	seen := false
	for _, ev := range evs.Events {
		if ev["principal"] == "agent" {
			seen = true
		}
	}
	if !seen {
		t.Errorf("no MCP event under the agent's name: %v", evs.Events)
	}
}

// TestMCPInspectorCLIOverHTTP: the real MCP Inspector CLI reaches /mcp
// with a bearer header, lists the tools and calls one; without the
// header it is refused.
func TestMCPInspectorCLIOverHTTP(t *testing.T) {
	prefix := inspectorPrefix(t)
	s := apptest.Start(t)
	ingest(t, s, "candidates", candidatesCSV)
	work := t.TempDir()
	run := func(extra ...string) ([]byte, string, error) {
		return runInspector(prefix, work, append([]string{s.URL + "/mcp", "--transport", "http"}, extra...)...)
	}
	auth := "Authorization: Bearer " + apptest.Token
	out, stderr, err := run("--header", auth, "--method", "tools/list")
	if err != nil || !strings.Contains(string(out), `"query_sql"`) {
		t.Fatalf("tools/list over HTTP: %v\n%s\n%s", err, out, stderr)
	}
	out, stderr, err = run("--header", auth, "--method", "tools/call", "--tool-name", "query_sql",
		"--tool-arg", "sql=SELECT name FROM candidates WHERE city = 'Chicago' ORDER BY name")
	var res map[string]any
	if err != nil || json.Unmarshal(out, &res) != nil || res["isError"] == true ||
		fmt.Sprint(res["structuredContent"].(map[string]any)["rows"]) != "[[Ada] [Cy]]" {
		t.Fatalf("tools/call over HTTP: %v\n%s\n%s", err, out, stderr)
	}
	if out, _, err := run("--method", "tools/list"); err == nil {
		t.Fatalf("no token, yet tools/list answered: %s", out)
	}
}
