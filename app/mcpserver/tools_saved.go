package mcpserver

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The team's saved queries, for agents: the workbench keeps them (with
// names, descriptions and typed parameters); an agent lists them and runs
// one by id instead of writing the SQL again.

type savedQueryDoc struct {
	ID          string           `json:"id" jsonschema:"the query's id: pass it to run_saved_query"`
	Name        string           `json:"name" jsonschema:"what the team calls it"`
	Description string           `json:"description,omitempty" jsonschema:"what it answers"`
	SQL         string           `json:"sql" jsonschema:"the statement, with $1, $2 ... for its parameters"`
	Params      []map[string]any `json:"params,omitempty" jsonschema:"its parameters in order: name, type (text or number) and default"`
}

type savedQueriesDoc struct {
	Queries []savedQueryDoc `json:"queries" jsonschema:"the saved queries, by name"`
	Count   int             `json:"count" jsonschema:"number of saved queries"`
}

type runSavedIn struct {
	ID     string            `json:"id" jsonschema:"the saved query's id (from list_saved_queries)"`
	Params map[string]string `json:"params,omitempty" jsonschema:"parameter values by name; a parameter left out takes its default"`
	Limit  int               `json:"limit,omitempty" jsonschema:"maximum rows to return (default and upper bound: the MCP row cap)"`
}

func (h *handler) addSavedQueryTools(s *mcp.Server) {
	addTool(s, h, toolSpec{
		name: "list_saved_queries", title: "List saved queries", readOnly: true, idempotent: true,
		description: "List the team's saved queries (the workbench's): id, name, description, SQL and parameters. Prefer running one of these with run_saved_query when it answers the question.",
		hint:        "run one with run_saved_query",
		output:      schemaFor[savedQueriesDoc](),
	}, func(ctx context.Context, _ *call, _ struct{}) (map[string]any, error) {
		var list struct {
			Queries []map[string]any `json:"queries"`
		}
		if err := h.api.Call(ctx, "GET", "/v1/workbench/queries", nil, &list); err != nil {
			return nil, err
		}
		out := make([]any, 0, len(list.Queries))
		for _, q := range list.Queries {
			out = append(out, pick(q, "id", "name", "description", "sql", "params"))
		}
		return map[string]any{"queries": out, "count": len(out)}, nil
	})

	addTool(s, h, toolSpec{
		name: "run_saved_query", title: "Run a saved query", readOnly: true, idempotent: true,
		description: "Run one of the team's saved queries by id with parameter values by name (those left out take their defaults). Answers columns and rows like query_sql, capped the same way.",
		hint:        "pass narrower parameter values, or use query_sql with a WHERE clause",
		output:      schemaFor[sqlDoc](),
	}, func(ctx context.Context, _ *call, in runSavedIn) (map[string]any, error) {
		if in.ID == "" {
			return nil, fmt.Errorf("id is required: take it from list_saved_queries")
		}
		if in.Limit <= 0 || in.Limit > h.opts.MaxRows {
			in.Limit = h.opts.MaxRows
		}
		q := url.Values{"format": {"json"}, "limit": {strconv.Itoa(in.Limit)}}
		names := make([]string, 0, len(in.Params))
		for n := range in.Params {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			q.Set("p."+n, in.Params[n])
		}
		var out map[string]any
		if err := h.api.Call(ctx, "GET", "/v1/workbench/queries/"+url.PathEscape(in.ID)+"/run?"+q.Encode(), nil, &out); err != nil {
			return nil, err
		}
		if out["truncated"] == true {
			out["hint"] = fmt.Sprintf("more rows exist than the %d returned; pass narrower parameters, or use query_sql with a WHERE clause", intOf(out["row_count"]))
		}
		return out, nil
	})
}
