package mcpserver

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Prompts show an agent how to use the tools together. Each carries the
// live list of datasets, so the first message already names real tables.

func (h *handler) addPrompts(s *mcp.Server) {
	s.AddPrompt(&mcp.Prompt{
		Name:        "staffing_analyst",
		Title:       "Staffing analyst",
		Description: "Answer a question over the lakehouse datasets with SQL and semantic search, citing the rows the answer rests on.",
		Arguments: []*mcp.PromptArgument{
			{Name: "question", Title: "Question", Description: "the question to answer (optional: without it the agent asks)"},
		},
	}, h.staffingAnalyst)

	s.AddPrompt(&mcp.Prompt{
		Name:        "shortlist_candidates",
		Title:       "Shortlist candidates",
		Description: "Build a shortlist of candidates for a role: semantic search with filters, checked with SQL, and remembered in the pathway memory.",
		Arguments: []*mcp.PromptArgument{
			{Name: "role", Title: "Role", Description: "the role or skills wanted, e.g. \"forklift operator\"", Required: true},
			{Name: "location", Title: "Location", Description: "city or region to filter on (optional)"},
			{Name: "count", Title: "How many", Description: "shortlist size (default 10)"},
			{Name: "index", Title: "Vector index", Description: "index to search (default: the one list_vector_indexes shows for the candidates dataset)"},
		},
	}, h.shortlist)
}

func (h *handler) staffingAnalyst(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	q := strings.TrimSpace(req.Params.Arguments["question"])
	var b strings.Builder
	b.WriteString("You are a staffing analyst working over a lakehouse of versioned datasets.\n\n")
	b.WriteString(h.datasetBrief(ctx))
	b.WriteString(`
How to work:
1. Call describe_dataset on the datasets that matter: columns, sample rows, and the values of low-cardinality columns (use those exact values in filters).
2. For facts, counts and rankings use query_sql (DuckDB SQL). Filter and aggregate in SQL; always add a LIMIT. If an answer says truncated, follow its hint.
3. For fuzzy matches (skills, descriptions, "people like X") use search_vectors on an index over the dataset (list_vector_indexes; build one with index_dataset if none exists), with a metadata filter when the question names a city, status or similar; then check the hits with query_sql.
4. Before repeating work, recall earlier traces; after answering, remember the question, the SQL or search that answered it and the answer (tags: the topic).
5. In your answer, cite every row you rely on by its id column (e.g. candidate_id) and dataset, and say which query produced it. Say so when the data cannot answer the question.
`)
	if q != "" {
		b.WriteString("\nThe question: " + q + "\n")
	} else {
		b.WriteString("\nAsk me what I want to know.\n")
	}
	return &mcp.GetPromptResult{
		Description: "Staffing analyst over the lakehouse datasets",
		Messages:    []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: b.String()}}},
	}, nil
}

// promptDataset is what a prompt says of one dataset.
type promptDataset struct {
	Name     string `json:"name"`
	Version  int    `json:"version"`
	RowCount int64  `json:"row_count"`
	Schema   []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"schema"`
	Internal bool `json:"internal"`
}

func (h *handler) shortlist(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	args := req.Params.Arguments
	role := strings.TrimSpace(args["role"])
	if role == "" {
		return nil, fmt.Errorf("argument role is required")
	}
	count := strings.TrimSpace(args["count"])
	if count == "" {
		count = "10"
	}
	index := strings.TrimSpace(args["index"])
	if index == "" {
		index = "the candidates index (see list_vector_indexes; if there is none, build it with index_dataset over the candidates dataset, text columns such as skills and a summary, metadata columns such as city and years)"
	}
	var b strings.Builder
	b.WriteString("Build a shortlist of " + count + " candidates for: " + role + ".\n")
	if loc := strings.TrimSpace(args["location"]); loc != "" {
		b.WriteString("Location: " + loc + ".\n")
	}
	b.WriteString("\n" + h.datasetBrief(ctx))
	b.WriteString(`
Steps:
1. recall with tags ["shortlist"] and the role as text: reuse or improve an earlier shortlist rather than starting over.
2. describe_dataset on the candidates dataset to learn the columns and the exact values of filters (city, status, ...).
3. search_vectors on ` + index + ` with the role as text, k about three times the shortlist size, and a filter for the location and any hard requirements (e.g. {"city":"Chicago","years":{"$gte":3}}).
4. Check the top hits with query_sql (WHERE id IN (...)) and drop candidates that do not meet the requirements.
5. remember the shortlist: content {"role", "location", "candidates": [{"id", "why"}], "search": the search you ran}, tags ["shortlist", a short role tag], kind "shortlist".
6. Answer with a table: id, name, why they fit (citing columns), and the uid of the remembered shortlist.
`)
	return &mcp.GetPromptResult{
		Description: "Shortlist candidates for " + role,
		Messages:    []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: b.String()}}},
	}, nil
}

// datasetBrief lists the datasets with their columns, for a prompt.
func (h *handler) datasetBrief(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
	defer cancel()
	var list struct {
		Datasets []promptDataset `json:"datasets"`
	}
	if err := h.api.Call(ctx, "GET", "/v1/catalog/list", nil, &list); err != nil {
		return "The dataset list is unavailable right now (" + err.Error() + "); call list_datasets.\n"
	}
	// Internal datasets (the audit trail) are not business data.
	list.Datasets = slices.DeleteFunc(list.Datasets, func(d promptDataset) bool { return d.Internal })
	if len(list.Datasets) == 0 {
		return "The lakehouse has no datasets yet.\n"
	}
	var b strings.Builder
	b.WriteString("Datasets (SQL tables):\n")
	for i, d := range list.Datasets {
		if i == 50 {
			fmt.Fprintf(&b, "- ... and %d more (list_datasets)\n", len(list.Datasets)-i)
			break
		}
		cols := make([]string, 0, len(d.Schema))
		for _, c := range d.Schema {
			cols = append(cols, c.Name+" "+c.Type)
		}
		if len(cols) > 40 {
			cols = append(cols[:40], "...")
		}
		fmt.Fprintf(&b, "- %s (version %d, %d rows): %s\n", d.Name, d.Version, d.RowCount, strings.Join(cols, ", "))
	}
	return b.String()
}
