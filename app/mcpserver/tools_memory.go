package mcpserver

import (
	"context"
	"fmt"
	"lakehouse/modules/kit"
	"net/url"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type traceDoc struct {
	UID            string   `json:"uid" jsonschema:"the trace's id (pass it to pathway_history or pathway_retire)"`
	Content        any      `json:"content" jsonschema:"what was stored (any JSON)"`
	PredecessorUID string   `json:"predecessor_uid,omitempty" jsonschema:"the trace this one revises"`
	CreatedAtNs    int64    `json:"created_at_ns" jsonschema:"creation time, Unix nanoseconds"`
	UpdatedAtNs    int64    `json:"updated_at_ns" jsonschema:"last change, Unix nanoseconds"`
	Retired        bool     `json:"retired" jsonschema:"retired traces are kept but never recalled"`
	ReplayCount    int64    `json:"replay_count" jsonschema:"how often an idempotent add replayed it"`
	Tags           []string `json:"tags,omitempty" jsonschema:"tags"`
	Kind           string   `json:"kind,omitempty" jsonschema:"kind"`
}

type hitTraceDoc struct {
	traceDoc
	Score float64 `json:"score" jsonschema:"relevance, higher is better"`
}

type recallDoc struct {
	Results []hitTraceDoc `json:"results" jsonschema:"traces, best first"`
	Count   int           `json:"count" jsonschema:"number of traces returned"`
	Mode    string        `json:"mode" jsonschema:"how they were ranked (semantic, lexical or recent)"`
}

type historyDoc struct {
	UID              string     `json:"uid" jsonschema:"the trace asked about"`
	Chain            []traceDoc `json:"chain" jsonschema:"the trace and its predecessors, newest first"`
	Length           int        `json:"length" jsonschema:"length of the chain"`
	HistoryTruncated bool       `json:"history_truncated" jsonschema:"true when the chain ends at a predecessor that is no longer stored"`
}

type eventAckDoc struct {
	Accepted  bool   `json:"accepted" jsonschema:"true when the event was recorded"`
	ID        int64  `json:"id" jsonschema:"event id"`
	Timestamp string `json:"timestamp" jsonschema:"event time"`
	Source    string `json:"source" jsonschema:"event source"`
}

type rememberIn struct {
	Content any      `json:"content" jsonschema:"what to remember (any JSON): e.g. the question, the query or search that answered it, and the answer"`
	Tags    []string `json:"tags,omitempty" jsonschema:"tags for later recall, e.g. [\"shortlist\",\"forklift\"]"`
	Kind    string   `json:"kind,omitempty" jsonschema:"optional kind, e.g. shortlist or query"`
}

type recallIn struct {
	Text    string   `json:"text,omitempty" jsonschema:"what to look for (semantic when the server has embeddings); empty lists the newest"`
	Tags    []string `json:"tags,omitempty" jsonschema:"only traces carrying all these tags"`
	Kind    string   `json:"kind,omitempty" jsonschema:"only traces of this kind"`
	Limit   int      `json:"limit,omitempty" jsonschema:"maximum traces (default 10)"`
	SinceNs int64    `json:"since_ns,omitempty" jsonschema:"only traces created at or after this Unix time in nanoseconds"`
	UntilNs int64    `json:"until_ns,omitempty" jsonschema:"only traces created at or before this Unix time in nanoseconds"`
}

type uidIn struct {
	UID string `json:"uid" jsonschema:"trace uid, as remember or recall returned it"`
}

type eventIn struct {
	Endpoint   string         `json:"endpoint" jsonschema:"what was done, e.g. \"agent/shortlist\" or the name of the step"`
	Success    *bool          `json:"success,omitempty" jsonschema:"whether it worked (default: true unless error or a status >= 400 is given)"`
	Status     int            `json:"status,omitempty" jsonschema:"a status code, when the step has one"`
	DurationMS float64        `json:"duration_ms,omitempty" jsonschema:"how long it took"`
	Error      string         `json:"error,omitempty" jsonschema:"what went wrong"`
	Fields     map[string]any `json:"fields,omitempty" jsonschema:"any other facts to keep with the event (free-form)"`
}

func (h *handler) addMemoryTools(s *mcp.Server) {
	addTool(s, h, toolSpec{
		name: "remember", needs: kit.RoleAnalyst, title: "Remember a trace",
		description: "Store a trace in the pathway memory: what was asked, what was tried and what worked (any JSON), with tags for later recall. Answers the stored trace with its uid.",
		hint:        "store less content",
		output:      schemaFor[traceDoc](),
	}, func(ctx context.Context, _ *call, in rememberIn) (map[string]any, error) {
		if in.Content == nil {
			return nil, fmt.Errorf("content is required")
		}
		var out map[string]any
		err := h.api.Call(ctx, "POST", "/v1/pathway/add", map[string]any{"content": in.Content, "tags": in.Tags, "kind": in.Kind}, &out)
		return out, err
	})

	addTool(s, h, toolSpec{
		name: "recall", title: "Recall traces", readOnly: true, idempotent: true,
		description: "Search the pathway memory by text, tags, kind and time (retired traces are never returned). Use it before repeating work: an earlier trace may hold the query that answered a similar question.",
		hint:        "lower limit or add tags",
		output:      schemaFor[recallDoc](),
	}, func(ctx context.Context, _ *call, in recallIn) (map[string]any, error) {
		in.Limit = clamp(in.Limit, 10, h.opts.MaxRows)
		var out map[string]any
		err := h.api.Call(ctx, "POST", "/v1/pathway/search", in, &out)
		return out, err
	})

	addTool(s, h, toolSpec{
		name: "pathway_history", title: "Trace history", readOnly: true, idempotent: true,
		description: "The revision chain of a trace: the trace and its predecessors, newest first.",
		hint:        "the chain is long; read the newest entries",
		output:      schemaFor[historyDoc](),
	}, func(ctx context.Context, _ *call, in uidIn) (map[string]any, error) {
		if strings.TrimSpace(in.UID) == "" {
			return nil, fmt.Errorf("uid is required")
		}
		var out map[string]any
		if err := h.api.Call(ctx, "GET", "/v1/pathway/history/"+url.PathEscape(in.UID), nil, &out); err != nil {
			return nil, err
		}
		// The API's "truncated" means the chain is incomplete; "truncated"
		// in an MCP answer means the caps cut it.
		out["history_truncated"] = out["truncated"] == true
		delete(out, "truncated")
		return out, nil
	})

	addTool(s, h, toolSpec{
		name: "pathway_retire", needs: kit.RoleAnalyst, title: "Retire a trace", destructive: true, idempotent: true,
		description: "Retire a trace: it stays in the log and its history, but recall never returns it again. Use it for a trace that turned out wrong.",
		hint:        "retire one trace at a time",
		output:      schemaFor[traceDoc](),
	}, func(ctx context.Context, _ *call, in uidIn) (map[string]any, error) {
		if strings.TrimSpace(in.UID) == "" {
			return nil, fmt.Errorf("uid is required")
		}
		var out map[string]any
		err := h.api.Call(ctx, "POST", "/v1/pathway/retire", map[string]any{"uid": in.UID}, &out)
		return out, err
	})

	addTool(s, h, toolSpec{
		name: "observer_event", needs: kit.RoleAnalyst, title: "Report an event",
		description: "Record an event in the lakehouse observer (source \"mcp\"), e.g. the outcome of a multi-step task, so people auditing the agent see it beside the tool calls. Every tool call is recorded already; use this for facts the calls do not show.",
		hint:        "send fewer fields",
		output:      schemaFor[eventAckDoc](),
	}, func(ctx context.Context, _ *call, in eventIn) (map[string]any, error) {
		if strings.TrimSpace(in.Endpoint) == "" {
			return nil, fmt.Errorf("endpoint is required")
		}
		body := map[string]any{}
		for k, v := range in.Fields {
			body[k] = v
		}
		body["endpoint"], body["source"] = in.Endpoint, "mcp"
		if in.Success != nil {
			body["success"] = *in.Success
		}
		if in.Status != 0 {
			body["status"] = in.Status
		}
		if in.DurationMS != 0 {
			body["duration_ms"] = in.DurationMS
		}
		if in.Error != "" {
			body["error"] = in.Error
		}
		var out map[string]any
		err := h.api.Call(ctx, "POST", "/v1/observer/event", body, &out)
		return out, err
	})
}
