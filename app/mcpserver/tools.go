package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"lakehouse/internal/client"
	"lakehouse/modules/kit"
)

// toolSpec describes one tool beyond its input type.
type toolSpec struct {
	name, title, description string
	// readOnly, destructive and idempotent become the MCP annotations.
	readOnly, destructive, idempotent bool
	// hint tells the agent how to narrow a truncated answer.
	hint string
	// output documents the answer's shape; its schema is the output schema.
	output *jsonschema.Schema
	// input, when set, replaces the schema inferred from the input type
	// (search_vectors, which passes unknown fields through).
	input *jsonschema.Schema
	// timeout overrides Options.Timeout (index_dataset).
	timeout time.Duration
	// reportsProgress: the tool sends its own progress; no heartbeat.
	reportsProgress bool
	// needs is the role the tool's routes need; 0 means reader for a
	// read-only tool and admin otherwise (a write tool must say).
	needs kit.Role
}

// role is what the tool needs of the caller.
func (t toolSpec) role() kit.Role {
	switch {
	case t.needs != 0:
		return t.needs
	case t.readOnly:
		return kit.RoleReader
	}
	return kit.RoleAdmin
}

// toolFunc does one call; out is the answer's JSON object.
type toolFunc[In any] func(ctx context.Context, c *call, in In) (out map[string]any, err error)

// addTool registers a tool wrapped in what every call shares: the per-call
// timeout, progress heartbeats, the row and character caps, and one
// observer event (source "mcp") per call, whatever the outcome.
func addTool[In any](s *mcp.Server, h *handler, spec toolSpec, fn toolFunc[In]) {
	if h.opts.Role != 0 && h.opts.Role < spec.role() {
		return // the principal could not call it: an agent should not see it
	}
	f := false
	destructive := spec.destructive
	tool := &mcp.Tool{
		Name:        spec.name,
		Title:       spec.title,
		Description: spec.description,
		Annotations: &mcp.ToolAnnotations{
			Title:           spec.title,
			ReadOnlyHint:    spec.readOnly,
			DestructiveHint: &destructive,
			IdempotentHint:  spec.idempotent,
			OpenWorldHint:   &f, // the lakehouse is a closed world
		},
		OutputSchema: portable(withCapFields(spec.output)),
		InputSchema:  portable(spec.input),
	}
	if spec.input == nil {
		tool.InputSchema = portable(inferred[In]())
	}
	timeout := h.opts.Timeout
	if spec.timeout > 0 {
		timeout = max(spec.timeout, h.opts.Timeout)
	}
	mcp.AddTool(s, tool, func(ctx context.Context, req *mcp.CallToolRequest, in In) (*mcp.CallToolResult, map[string]any, error) {
		start := time.Now()
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		c := newCall(req)
		if !spec.reportsProgress {
			defer c.heartbeat(ctx, h.opts.Heartbeat)()
		}
		out, err := fn(ctx, c, in)
		if err == nil {
			out, err = capAnswer(out, h.opts.MaxRows, h.opts.MaxChars, spec.hint)
		}
		if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = fmt.Errorf("%s timed out after %s: narrow the request (%s) or raise the MCP timeout (--timeout)",
				spec.name, timeout, spec.hint)
		}
		h.record(spec.name, start, err)
		if err != nil {
			return nil, nil, err
		}
		return nil, out, nil
	})
}

// call is one tool invocation: it reports progress when the client asked
// for it (a progress token in the request's _meta).
type call struct {
	req   *mcp.CallToolRequest
	token any
	mu    sync.Mutex
	last  float64
}

func newCall(req *mcp.CallToolRequest) *call {
	c := &call{req: req}
	if req != nil && req.Params != nil {
		c.token = req.Params.GetProgressToken()
	}
	return c
}

// progress sends a progress notification; progress must grow, so a value
// not above the last one is nudged up. total 0 means unknown.
func (c *call) progress(ctx context.Context, progress, total float64, msg string) {
	if c.token == nil || c.req == nil || c.req.Session == nil {
		return
	}
	c.mu.Lock()
	if progress <= c.last {
		progress = c.last + 1
	}
	c.last = progress
	c.mu.Unlock()
	_ = c.req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
		ProgressToken: c.token, Progress: progress, Total: total, Message: msg,
	})
}

// heartbeat reports "still running" every interval until the returned stop
// is called, so a client that resets its timeout on progress keeps waiting
// for a big query.
func (c *call) heartbeat(ctx context.Context, every time.Duration) (stop func()) {
	if c.token == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				el := time.Since(start).Round(time.Second)
				c.progress(ctx, el.Seconds(), 0, fmt.Sprintf("still running after %s", el))
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// record sends one observer event for a tool call. It uses its own short
// deadline: a call that timed out is recorded too.
func (h *handler) record(tool string, start time.Time, callErr error) {
	ev := map[string]any{
		"endpoint":    "mcp/" + tool,
		"source":      "mcp",
		"method":      "tools/call",
		"tool":        tool,
		"transport":   h.opts.Mode,
		"success":     callErr == nil,
		"duration_ms": float64(time.Since(start).Microseconds()) / 1000,
	}
	if callErr != nil {
		ev["error"] = callErr.Error()
		var ae *client.Error
		if errors.As(callErr, &ae) {
			ev["status"] = ae.Status
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.api.Call(ctx, "POST", "/v1/observer/event", ev, nil); err != nil {
		h.log.Debug("mcp: observer event not recorded", "tool", tool, "err", err)
	}
}

// inferred is the input schema the SDK would infer from In (descriptions
// from the jsonschema tags, unknown fields refused).
func inferred[In any]() *jsonschema.Schema {
	s, err := jsonschema.For[In](nil)
	if err != nil {
		panic(fmt.Sprintf("mcpserver: input schema for %T: %v", *new(In), err))
	}
	return s
}

// portable rewrites a schema into the spelling the most clients accept
// (what the MCP Inspector's --strict check asks for): one type per
// schema instead of ["null", T], and an explicit "any JSON value" instead
// of a bare true/{} where a value schema is expected.
func portable(s *jsonschema.Schema) *jsonschema.Schema {
	if s == nil {
		return nil
	}
	if len(s.Types) == 2 && slices.Contains(s.Types, "null") {
		s.Type = s.Types[0]
		if s.Type == "null" {
			s.Type = s.Types[1]
		}
		s.Types = nil
	}
	for k, p := range s.Properties {
		s.Properties[k] = portableValue(p)
	}
	if s.Items != nil {
		s.Items = portableValue(s.Items)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Not == nil {
		if isEmpty(s.AdditionalProperties) {
			s.AdditionalProperties = nil // absent means any
		} else {
			portable(s.AdditionalProperties)
		}
	}
	return s
}

// portableValue is portable for a value position: an empty schema becomes
// an explicit choice of every JSON type.
func portableValue(s *jsonschema.Schema) *jsonschema.Schema {
	if isEmpty(s) {
		v := anyJSON()
		v.Description = s.Description
		return v
	}
	return portable(s)
}

func isEmpty(s *jsonschema.Schema) bool {
	return s.Type == "" && len(s.Types) == 0 && len(s.AnyOf) == 0 && len(s.OneOf) == 0 && len(s.AllOf) == 0 &&
		s.Not == nil && len(s.Properties) == 0 && s.Items == nil && s.Ref == "" && len(s.Enum) == 0 && s.Const == nil
}

// anyJSON accepts any JSON value, spelled as single-type branches.
func anyJSON() *jsonschema.Schema {
	var branches []*jsonschema.Schema
	for _, t := range []string{"string", "number", "boolean", "object", "array", "null"} {
		branches = append(branches, &jsonschema.Schema{Type: t})
	}
	return &jsonschema.Schema{AnyOf: branches}
}

// schemaFor documents an answer type as an output schema. The schema
// describes the fields agents rely on but accepts more (the API may add
// fields) and absent ones (a field the server omits when empty).
func schemaFor[T any]() *jsonschema.Schema {
	s, err := jsonschema.For[T](nil)
	if err != nil {
		panic(fmt.Sprintf("mcpserver: schema for %T: %v", *new(T), err))
	}
	relax(s)
	return s
}

func relax(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	s.Required = nil
	if s.Type == "object" || len(s.Properties) > 0 {
		s.AdditionalProperties = nil
	}
	for _, p := range s.Properties {
		relax(p)
	}
	relax(s.Items)
	relax(s.AdditionalProperties)
}

// withCapFields adds the cap fields every answer may carry.
func withCapFields(s *jsonschema.Schema) *jsonschema.Schema {
	if s == nil {
		s = &jsonschema.Schema{Type: "object"}
	}
	if s.Properties == nil {
		s.Properties = map[string]*jsonschema.Schema{}
	}
	if _, ok := s.Properties["truncated"]; !ok {
		s.Properties["truncated"] = &jsonschema.Schema{Type: "boolean",
			Description: "true when the answer was cut to the row or character cap (or the query's limit); see hint"}
	}
	s.Properties["hint"] = &jsonschema.Schema{Type: "string", Description: "how to narrow a truncated request"}
	return s
}
