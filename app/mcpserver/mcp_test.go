package mcpserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"lakehouse/app/apptest"
	"lakehouse/app/cli"
	"lakehouse/config"
)

// TestMain makes the test binary act as `lakehouse <args...>` when
// re-executed (apptest.Child), so the MCP clients below talk to a real
// stdio process.
func TestMain(m *testing.M) { apptest.Main(m, nil) }

const candidatesCSV = "candidate_id,name,city,years,skills\n" +
	"CAND-000001,Ada,Chicago,7,forklift operator warehouse safety\n" +
	"CAND-000002,Bo,Denver,2,accounting spreadsheets payroll\n" +
	"CAND-000003,Cy,Chicago,4,forklift loader night shift\n" +
	"CAND-000004,Di,Austin,9,software engineer golang\n"

// testConfig writes a config file for the child: fast catalog polling and
// observer publishing, so list_changed shows up within the test.
func testConfig(t *testing.T, extra string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "lakehouse.toml")
	body := "[mcp]\npoll_interval = \"200ms\"\n[observer]\nparquet_interval = \"1s\"\n" + extra
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// seededDataDir ingests the candidates into a fresh data dir through a
// server that is stopped again, leaving the dir free for in-process mode.
func seededDataDir(t *testing.T) string {
	t.Helper()
	s := apptest.Start(t)
	ingest(t, s, "candidates", candidatesCSV)
	s.Stop(t)
	return s.DataDir
}

func ingest(t *testing.T, s *apptest.Server, name, csv string) {
	t.Helper()
	resp, body := s.DoHeader(t, "POST", "/v1/ingest?name="+name, csv, map[string][]string{"Content-Type": {"text/csv"}})
	if resp.StatusCode != 201 {
		t.Fatalf("ingest %s: %d %s", name, resp.StatusCode, body)
	}
}

// session is a client connected to a `lakehouse mcp` child.
type session struct {
	*mcp.ClientSession
	stderr   *syncBuffer
	progress chan *mcp.ProgressNotificationParams
	changed  chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if os.Getenv("LAKEHOUSE_TEST_LOG") != "" {
		os.Stderr.Write(p)
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func connect(t *testing.T, env []string, args ...string) *session {
	t.Helper()
	cmd := apptest.Child(env, args...)
	s := &session{stderr: &syncBuffer{}, progress: make(chan *mcp.ProgressNotificationParams, 1000), changed: make(chan struct{}, 100)}
	cmd.Stderr = s.stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "lakehouse-test", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			s.progress <- req.Params
		},
		ResourceListChangedHandler: func(context.Context, *mcp.ResourceListChangedRequest) {
			select {
			case s.changed <- struct{}{}:
			default:
			}
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sess, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("mcp connect: %v\nstderr: %s", err, s.stderr)
	}
	s.ClientSession = sess
	t.Cleanup(func() { _ = sess.Close() })
	return s
}

// call calls a tool (with a progress token when token != nil) and returns
// the result, its text and its structured content.
func (s *session) call(t *testing.T, name string, args any, token any) (*mcp.CallToolResult, string, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	p := &mcp.CallToolParams{Name: name, Arguments: args}
	if token != nil {
		p.SetProgressToken(token)
	}
	res, err := s.CallTool(ctx, p)
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	var text strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text.WriteString(tc.Text)
		}
	}
	var sc map[string]any
	if res.StructuredContent != nil {
		data, _ := json.Marshal(res.StructuredContent)
		_ = json.Unmarshal(data, &sc)
	}
	return res, text.String(), sc
}

// ok calls a tool that must succeed with structured content.
func (s *session) ok(t *testing.T, name string, args any) map[string]any {
	t.Helper()
	res, text, sc := s.call(t, name, args, nil)
	if res.IsError || sc == nil {
		t.Fatalf("%s: isError=%v structured=%v: %s", name, res.IsError, sc != nil, text)
	}
	return sc
}

var allTools = []string{
	"list_datasets", "get_manifest", "describe_dataset", "query_sql", "embed_text", "list_saved_queries", "run_saved_query",
	"list_vector_indexes", "search_vectors", "index_dataset",
	"remember", "recall", "pathway_history", "pathway_retire", "observer_event",
}

// exercise lists and calls every tool, reads every resource, gets every
// prompt, and checks the error, cap and progress cases.
func exercise(t *testing.T, s *session) {
	ctx := context.Background()
	tools, err := s.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*mcp.Tool{}
	for _, tool := range tools.Tools {
		byName[tool.Name] = tool
	}
	// Saved queries: none yet (the workbench's list is empty), and an
	// unknown id is a tool error naming it.
	if got := s.ok(t, "list_saved_queries", map[string]any{}); got["count"] != float64(0) {
		t.Fatalf("list_saved_queries on a fresh lakehouse: %v", got)
	}
	if res, text, _ := s.call(t, "run_saved_query", map[string]any{"id": "nope"}, nil); !res.IsError || !strings.Contains(text, "nope") {
		t.Fatalf("run_saved_query of an unknown id: %v %s", res.IsError, text)
	}
	for _, name := range allTools {
		tool := byName[name]
		if tool == nil {
			t.Fatalf("tool %s missing", name)
		}
		if tool.Description == "" || tool.OutputSchema == nil || tool.Annotations == nil || tool.Annotations.DestructiveHint == nil {
			t.Errorf("tool %s: description, output schema and annotations are required: %+v", name, tool)
		}
		in, _ := tool.InputSchema.(map[string]any)
		props, _ := in["properties"].(map[string]any)
		for p, v := range props {
			if d, _ := v.(map[string]any)["description"].(string); d == "" {
				t.Errorf("tool %s: input %s has no description", name, p)
			}
		}
	}
	if a := byName["pathway_retire"].Annotations; a.ReadOnlyHint || !*a.DestructiveHint || !a.IdempotentHint {
		t.Errorf("pathway_retire annotations: %+v", a)
	}
	if a := byName["query_sql"].Annotations; !a.ReadOnlyHint {
		t.Errorf("query_sql must be read-only: %+v", a)
	}

	// Datasets.
	sc := s.ok(t, "list_datasets", map[string]any{})
	if !strings.Contains(fmt.Sprint(sc["datasets"]), "candidates") {
		t.Fatalf("list_datasets: %v", sc)
	}
	sc = s.ok(t, "get_manifest", map[string]any{"name": "candidates"})
	if sc["name"] != "candidates" || fmt.Sprint(sc["row_count"]) != "4" {
		t.Fatalf("get_manifest: %v", sc)
	}
	// describe_dataset reports its steps as progress (the progress case).
	res, text, sc := s.call(t, "describe_dataset", map[string]any{"name": "candidates", "sample_rows": 2}, "describe-1")
	if res.IsError {
		t.Fatalf("describe_dataset: %s", text)
	}
	if rows := sc["sample"].(map[string]any)["rows"].([]any); len(rows) != 2 {
		t.Fatalf("describe sample: %v", sc["sample"])
	}
	// No column has more distinct values than non-null values; a column
	// whose values are all listed has an exact count.
	for _, f := range sc["facets"].([]any) {
		m := f.(map[string]any)
		if rc, ok := sc["row_count"].(float64); ok && m["distinct"].(float64) > rc {
			t.Fatalf("facet %v: more distinct values than rows (%v)", m, sc["row_count"])
		}
		if m["column"] == "city" && m["distinct_approximate"] != false {
			t.Fatalf("city's values are all listed, its count is exact: %v", m)
		}
	}
	facets := fmt.Sprint(sc["facets"])
	if !strings.Contains(facets, "column:city") || !strings.Contains(facets, "value:Chicago") || !strings.Contains(facets, "count:2") {
		t.Fatalf("describe facets: %s", facets)
	}
	if n := drainProgress(s, "describe-1", 4); n < 4 {
		t.Fatalf("describe_dataset: %d progress notifications, want 4", n)
	}
	sc = s.ok(t, "query_sql", map[string]any{"sql": "SELECT name FROM candidates WHERE years > $1 ORDER BY name", "params": []any{5}})
	if fmt.Sprint(sc["rows"]) != "[[Ada] [Di]]" || sc["truncated"] != false {
		t.Fatalf("query_sql: %v", sc)
	}
	sc = s.ok(t, "embed_text", map[string]any{"texts": []string{"forklift"}})
	if fmt.Sprint(sc["dimension"]) != "512" {
		t.Fatalf("embed_text: %v", sc["dimension"])
	}

	// Vectors: index_dataset streams progress rows.
	res, text, sc = s.call(t, "index_dataset", map[string]any{"index": "cands", "dataset": "candidates", "id_column": "candidate_id",
		"text_columns": []string{"skills"}, "metadata_columns": []string{"city", "years"}, "batch_size": 1}, "index-1")
	if res.IsError || fmt.Sprint(sc["embedded"]) != "4" {
		t.Fatalf("index_dataset: %s", text)
	}
	if n := drainProgress(s, "index-1", 2); n < 2 {
		t.Fatalf("index_dataset: %d progress notifications, want at least 2", n)
	}
	sc = s.ok(t, "list_vector_indexes", map[string]any{})
	if !strings.Contains(fmt.Sprint(sc["indexes"]), "cands") {
		t.Fatalf("list_vector_indexes: %v", sc)
	}
	// filter and ef as the HTTP API has them; an unknown field passes through.
	sc = s.ok(t, "search_vectors", map[string]any{"index": "cands", "text": "forklift driver", "k": 3, "ef": 40,
		"filter": map[string]any{"city": "Chicago"}, "x_future_option": true})
	hits := sc["results"].([]any)
	if len(hits) != 2 {
		t.Fatalf("search_vectors with a city filter: %v", hits)
	}
	for _, h := range hits {
		if md := h.(map[string]any)["metadata"].(map[string]any); md["city"] != "Chicago" {
			t.Fatalf("filter ignored: %v", h)
		}
	}
	// Hybrid by default with text; explain and facets as the HTTP API has them.
	sc = s.ok(t, "search_vectors", map[string]any{"index": "cands", "text": "forklift", "k": 3, "explain": true, "facets": []string{"city"}})
	first := sc["results"].([]any)[0].(map[string]any)
	if ex, ok := first["explain"].(map[string]any); !ok || ex["keyword_rank"] == nil {
		t.Fatalf("explain missing or not hybrid: %v", first)
	}
	if _, ok := sc["facets"].(map[string]any)["city"]; !ok {
		t.Fatalf("facets: %v", sc["facets"])
	}
	// Hits carry the dataset columns asked for: no query_sql needed.
	sc = s.ok(t, "search_vectors", map[string]any{"index": "cands", "text": "forklift", "k": 2,
		"fields": []string{"name", "years"}, "dataset": "candidates", "id_column": "candidate_id"})
	for _, h := range sc["results"].([]any) {
		f, _ := h.(map[string]any)["fields"].(map[string]any)
		if f["name"] == nil || f["years"] == nil {
			t.Fatalf("hit without its fields: %v", h)
		}
	}
	if res, text, _ := s.call(t, "search_vectors", map[string]any{"index": "cands", "text": "forklift", "fields": []string{"name"}}, nil); !res.IsError || !strings.Contains(text, "dataset and id_column") {
		t.Fatalf("fields without a dataset: isError=%v %s", res.IsError, text)
	}

	// Memory.
	sc = s.ok(t, "remember", map[string]any{"content": map[string]any{"query": "forklift Chicago", "ids": []string{"CAND-000001"}}, "tags": []string{"shortlist"}})
	uid, _ := sc["uid"].(string)
	if uid == "" {
		t.Fatalf("remember: %v", sc)
	}
	sc = s.ok(t, "recall", map[string]any{"text": "forklift", "tags": []string{"shortlist"}})
	if !strings.Contains(fmt.Sprint(sc["results"]), uid) {
		t.Fatalf("recall: %v", sc)
	}
	sc = s.ok(t, "pathway_history", map[string]any{"uid": uid})
	if fmt.Sprint(sc["length"]) != "1" || sc["history_truncated"] != false {
		t.Fatalf("pathway_history: %v", sc)
	}
	sc = s.ok(t, "pathway_retire", map[string]any{"uid": uid})
	if sc["retired"] != true {
		t.Fatalf("pathway_retire: %v", sc)
	}
	sc = s.ok(t, "recall", map[string]any{"tags": []string{"shortlist"}})
	if strings.Contains(fmt.Sprint(sc["results"]), uid) {
		t.Fatalf("recall returned a retired trace: %v", sc)
	}
	sc = s.ok(t, "observer_event", map[string]any{"endpoint": "agent/shortlist", "fields": map[string]any{"shortlisted": 2}})
	if sc["accepted"] != true || sc["source"] != "mcp" {
		t.Fatalf("observer_event: %v", sc)
	}

	// Errors are results the agent reads; the session goes on.
	res, text, _ = s.call(t, "query_sql", map[string]any{"sql": "SELECT * FROM no_such_table"}, nil)
	if !res.IsError || !strings.Contains(text, "400") {
		t.Fatalf("bad SQL: isError=%v %s", res.IsError, text)
	}
	res, text, _ = s.call(t, "get_manifest", map[string]any{"name": "nope"}, nil)
	if !res.IsError || !strings.Contains(text, "404") {
		t.Fatalf("unknown dataset: isError=%v %s", res.IsError, text)
	}
	res, text, _ = s.call(t, "query_sql", map[string]any{"limit": 3}, nil)
	if !res.IsError || !strings.Contains(text, "sql") {
		t.Fatalf("missing argument: isError=%v %s", res.IsError, text)
	}
	s.ok(t, "list_datasets", map[string]any{}) // transport intact

	// Caps: rows, then characters.
	sc = s.ok(t, "query_sql", map[string]any{"sql": "SELECT range AS n FROM range(5000)"})
	if rows := sc["rows"].([]any); len(rows) != 1024 || sc["truncated"] != true || sc["hint"] == "" {
		t.Fatalf("row cap: %d rows truncated=%v hint=%v", len(rows), sc["truncated"], sc["hint"])
	}
	// A truncated answer says how many rows there are in all.
	if fmt.Sprint(sc["total_rows"]) != "5000" || !strings.Contains(fmt.Sprint(sc["hint"]), "5000 rows in all") {
		t.Fatalf("truncated total: %v %v", sc["total_rows"], sc["hint"])
	}
	res, text, sc = s.call(t, "query_sql", map[string]any{"sql": "SELECT repeat('x', 1000) AS pad FROM range(500)"}, nil)
	if res.IsError || sc["truncated"] != true || len([]rune(text)) > 50_000 || !strings.Contains(fmt.Sprint(sc["hint"]), "WHERE") {
		t.Fatalf("character cap: isError=%v truncated=%v %d chars hint=%v", res.IsError, sc["truncated"], len([]rune(text)), sc["hint"])
	}

	// Resources: one per dataset and per version, plus the template.
	rl, err := s.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	uris := map[string]bool{}
	for _, r := range rl.Resources {
		uris[r.URI] = true
	}
	for _, want := range []string{"lakehouse://dataset/candidates", "lakehouse://dataset/candidates@1"} {
		if !uris[want] {
			t.Fatalf("resource %s missing from %v", want, uris)
		}
	}
	for uri := range uris {
		rr, err := s.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
		if err != nil {
			t.Fatalf("read %s: %v", uri, err)
		}
		var body map[string]any
		if err := json.Unmarshal([]byte(rr.Contents[0].Text), &body); err != nil || body["schema"] == nil || body["sample"] == nil {
			t.Fatalf("resource %s: %s", uri, rr.Contents[0].Text)
		}
	}
	tl, err := s.ListResourceTemplates(ctx, nil)
	if err != nil || len(tl.ResourceTemplates) != 1 || tl.ResourceTemplates[0].URITemplate != "lakehouse://dataset/{name}@{version}" {
		t.Fatalf("resource templates: %v %v", tl, err)
	}
	if _, err := s.ReadResource(ctx, &mcp.ReadResourceParams{URI: "lakehouse://dataset/candidates@9"}); err == nil {
		t.Fatal("reading a missing version must fail")
	}

	// Prompts.
	pl, err := s.ListPrompts(ctx, nil)
	if err != nil || len(pl.Prompts) != 2 {
		t.Fatalf("prompts: %v %v", pl, err)
	}
	gp, err := s.GetPrompt(ctx, &mcp.GetPromptParams{Name: "staffing_analyst", Arguments: map[string]string{"question": "who drives forklifts in Chicago?"}})
	if err != nil || !strings.Contains(gp.Messages[0].Content.(*mcp.TextContent).Text, "candidates (version 1, 4 rows)") {
		t.Fatalf("staffing_analyst: %v %v", gp, err)
	}
	gp, err = s.GetPrompt(ctx, &mcp.GetPromptParams{Name: "shortlist_candidates", Arguments: map[string]string{"role": "forklift operator", "location": "Chicago"}})
	if err != nil || !strings.Contains(gp.Messages[0].Content.(*mcp.TextContent).Text, "remember the shortlist") {
		t.Fatalf("shortlist_candidates: %v %v", gp, err)
	}
	if _, err := s.GetPrompt(ctx, &mcp.GetPromptParams{Name: "shortlist_candidates"}); err == nil {
		t.Fatal("shortlist_candidates without role must fail")
	}
}

// drainProgress counts the progress notifications for token that arrived
// (waiting up to 10s for want of them).
func drainProgress(s *session, token any, want int) int {
	n := 0
	deadline := time.After(10 * time.Second)
	for n < want {
		select {
		case p := <-s.progress:
			if fmt.Sprint(p.ProgressToken) == fmt.Sprint(token) {
				n++
			}
		case <-deadline:
			return n
		}
	}
	return n
}

// waitChanged waits for a resources/list_changed notification and for
// the resource list to hold uri.
func waitChanged(t *testing.T, s *session, uri string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case <-s.changed:
			rl, err := s.ListResources(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rl.Resources {
				if r.URI == uri {
					return
				}
			}
		case <-deadline:
			t.Fatalf("no resources/list_changed bringing %s", uri)
		}
	}
}

func TestMCPInProcess(t *testing.T) {
	dir := seededDataDir(t)
	s := connect(t, []string{"AUTH_TOKEN=in-process-token"}, "--config", testConfig(t, ""), "--data-dir", dir, "mcp")
	exercise(t, s)
	// Every tool call is an observer event; the observer publishes them as
	// a dataset. It is internal: list_datasets names it only when asked,
	// and it is no resource (nor in the prompts' dataset list).
	apptest.WaitFor(t, "observer_events published", func() bool {
		_, _, all := s.call(t, "list_datasets", map[string]any{"include_internal": true}, nil)
		return strings.Contains(fmt.Sprint(all["datasets"]), "observer_events")
	})
	if _, _, plain := s.call(t, "list_datasets", map[string]any{}, nil); strings.Contains(fmt.Sprint(plain["datasets"]), "observer_events") {
		t.Fatalf("list_datasets lists the internal dataset: %v", plain["datasets"])
	}
	if rl, err := s.ListResources(context.Background(), nil); err != nil {
		t.Fatal(err)
	} else {
		for _, r := range rl.Resources {
			if strings.Contains(r.URI, "observer_events") {
				t.Fatalf("internal dataset offered as a resource: %s", r.URI)
			}
		}
	}
	if _, _, ix := s.call(t, "list_vector_indexes", map[string]any{}, nil); strings.Contains(fmt.Sprint(ix["indexes"]), "_pathway") {
		t.Fatalf("list_vector_indexes lists the memory's index: %v", ix["indexes"])
	}
	if log := s.stderr.String(); !strings.Contains(log, "in-process mode") {
		t.Fatalf("stderr does not name the mode: %s", log)
	}
	// While it runs, the data dir is taken: a server cannot start on it.
	srvErr := make(chan int, 1)
	go func() {
		var out, errb strings.Builder
		srvErr <- cli.Main([]string{"--config", testConfig(t, ""), "--data-dir", dir, "serve", "--listen", "127.0.0.1:0"}, &out, &errb)
	}()
	select {
	case code := <-srvErr:
		if code == 0 {
			t.Fatal("serve started on a data dir held by mcp")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve neither failed nor returned")
	}
	if err := s.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	// After the session, the events are persisted with source mcp.
	srv := apptest.Start(t, func(c *config.Config) { c.DataDir = dir; c.Auth.Token = "in-process-token" })
	var evs struct {
		Events []map[string]any `json:"events"`
	}
	srv.JSON(t, "GET", "/v1/observer/events?source=mcp&limit=1000", nil, 200, &evs)
	seen := map[string]bool{}
	for _, ev := range evs.Events {
		seen[fmt.Sprint(ev["tool"])] = true
		if ev["principal"] != "admin" {
			t.Fatalf("event without the token's principal: %v", ev)
		}
	}
	for _, name := range allTools {
		if !seen[name] {
			t.Errorf("no observer event for tool %s (have %v)", name, seen)
		}
	}
}

func TestMCPServerModeFindsTheServerHoldingTheDataDir(t *testing.T) {
	srv := apptest.Start(t)
	ingest(t, srv, "candidates", candidatesCSV)
	// No --server: the data dir's lock names the server to use.
	s := connect(t, []string{"AUTH_TOKEN=" + srv.Token}, "--config", testConfig(t, ""), "--data-dir", srv.DataDir, "mcp")
	exercise(t, s)
	if log := s.stderr.String(); !strings.Contains(log, "server mode") || !strings.Contains(log, srv.URL) {
		t.Fatalf("stderr does not name the mode and server: %s", log)
	}
	ingest(t, srv, "jobs", "job_id,title\nJOB-1,forklift\n")
	waitChanged(t, s, "lakehouse://dataset/jobs")
	var evs struct {
		Events []map[string]any `json:"events"`
	}
	srv.JSON(t, "GET", "/v1/observer/events?source=mcp&limit=1000", nil, 200, &evs)
	seen := map[string]bool{}
	for _, ev := range evs.Events {
		seen[fmt.Sprint(ev["tool"])] = true
	}
	for _, name := range allTools {
		if !seen[name] {
			t.Errorf("no observer event for tool %s", name)
		}
	}
}

func TestMCPReportsUnreachableServerAsToolError(t *testing.T) {
	srv := apptest.Start(t)
	s := connect(t, []string{"AUTH_TOKEN=" + srv.Token}, "--config", testConfig(t, ""), "mcp", "--server", srv.URL)
	srv.Stop(t)
	res, text, _ := s.call(t, "list_datasets", map[string]any{}, nil)
	if !res.IsError || !strings.Contains(text, "unreachable") {
		t.Fatalf("stopped server: error=%v %s", res.IsError, text)
	}
}
