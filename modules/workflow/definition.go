package workflow

import (
	"fmt"
	"lakehouse/modules/kit"
	"regexp"
	"slices"
	"strings"
)

// Workflow is a DAG of nodes POSTed to /v1/observer/workflow/run.
type Workflow struct {
	// Name groups the rows of every run of this workflow (?workflow=).
	Name  string `json:"name"`
	Nodes []Node `json:"nodes"`
	// Async returns a run id at once instead of the finished run.
	Async bool `json:"async"`
	// TimeoutMS bounds the whole run (default workflow.workflow_timeout).
	TimeoutMS int `json:"timeout_ms"`
}

// Node is one step: a mode, the nodes it waits for, and its inputs.
// A string input of the form "$<node>.output.<path>" is replaced by that
// part of an earlier node's output (the node becomes a dependency).
type Node struct {
	ID        string         `json:"id"`
	Mode      string         `json:"mode"`
	DependsOn []string       `json:"depends_on"`
	Inputs    map[string]any `json:"inputs"`
	// TimeoutMS bounds this node (default workflow.node_timeout).
	TimeoutMS int `json:"timeout_ms"`
}

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// maxWorkflowName caps a workflow's name in bytes.
const maxWorkflowName = 256

// badWorkflow is the 400 every definition problem answers with; details
// name the node and the problem so a client can point at it.
func badWorkflow(problem, node, format string, args ...any) *kit.APIError {
	d := map[string]any{"problem": problem}
	if node != "" {
		d["node"] = node
	}
	return kit.Errorf(400, "bad_workflow", format, args...).WithDetails(d)
}

// plan is a validated workflow: nodes by id and their full dependency
// lists (explicit depends_on plus nodes referenced from inputs).
type plan struct {
	wf    Workflow
	deps  map[string][]string
	index map[string]int
}

// validate checks a definition against the registered modes: unique
// well-formed ids, known modes, existing dependencies and references,
// no cycle. Every problem is a 400 that names it.
func (r *Runner) validate(wf Workflow) (*plan, error) {
	if len(wf.Nodes) == 0 {
		return nil, badWorkflow("empty", "", "workflow has no nodes")
	}
	if len(wf.Name) > maxWorkflowName {
		// The name is copied onto every node's audit row.
		return nil, badWorkflow("bad_name", "", "workflow name of %d bytes; at most %d are allowed", len(wf.Name), maxWorkflowName)
	}
	if len(wf.Nodes) > r.cfg.MaxNodes {
		return nil, badWorkflow("too_many_nodes", "", "workflow has %d nodes; the limit is %d", len(wf.Nodes), r.cfg.MaxNodes)
	}
	if err := checkTimeout(wf.TimeoutMS, r.cfg.MaxWorkflowTimeout, "max_workflow_timeout", ""); err != nil {
		return nil, err
	}
	p := &plan{wf: wf, deps: map[string][]string{}, index: map[string]int{}}
	for i, n := range wf.Nodes {
		if !nodeIDPattern.MatchString(n.ID) {
			return nil, badWorkflow("bad_id", n.ID, "node %d: id %q must be 1-64 letters, digits, _ or -", i, n.ID)
		}
		if _, dup := p.index[n.ID]; dup {
			return nil, badWorkflow("duplicate_id", n.ID, "node id %q is used twice", n.ID)
		}
		p.index[n.ID] = i
	}
	for _, n := range wf.Nodes {
		if !r.hasMode(n.Mode) {
			return nil, badWorkflow("unknown_mode", n.ID, "node %q: unknown mode %q (known: %s)", n.ID, n.Mode, strings.Join(r.Modes(), ", "))
		}
		if err := checkTimeout(n.TimeoutMS, r.cfg.MaxNodeTimeout, "max_node_timeout", n.ID); err != nil {
			return nil, err
		}
		deps := []string{}
		for _, d := range n.DependsOn {
			if _, ok := p.index[d]; !ok {
				return nil, badWorkflow("missing_dependency", n.ID, "node %q depends on %q, which is not a node of this workflow", n.ID, d)
			}
			deps = append(deps, d)
		}
		var refErr error
		walkRefs(n.Inputs, "inputs", func(where string, ref reference) {
			if refErr != nil {
				return
			}
			if _, ok := p.index[ref.node]; !ok {
				refErr = badWorkflow("missing_reference", n.ID, "node %q %s references %q, which is not a node of this workflow", n.ID, where, ref.node)
				return
			}
			deps = append(deps, ref.node)
		})
		if refErr != nil {
			return nil, refErr
		}
		slices.Sort(deps)
		deps = slices.Compact(deps)
		if slices.Contains(deps, n.ID) {
			return nil, badWorkflow("cycle", n.ID, "node %q depends on itself", n.ID)
		}
		p.deps[n.ID] = deps
	}
	if cyc := findCycle(wf.Nodes, p.deps); cyc != nil {
		return nil, badWorkflow("cycle", cyc[0], "dependency cycle: %s", strings.Join(cyc, " -> ")).
			WithDetails(map[string]any{"cycle": cyc})
	}
	return p, nil
}

// findCycle returns one dependency cycle (first node repeated at the end)
// or nil.
func findCycle(nodes []Node, deps map[string][]string) []string {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var stack []string
	var found []string
	var visit func(id string) bool
	visit = func(id string) bool {
		switch state[id] {
		case done:
			return false
		case visiting:
			i := slices.Index(stack, id)
			found = append(slices.Clone(stack[i:]), id)
			return true
		}
		state[id] = visiting
		stack = append(stack, id)
		for _, d := range deps[id] {
			if visit(d) {
				return true
			}
		}
		stack = stack[:len(stack)-1]
		state[id] = done
		return false
	}
	for _, n := range nodes {
		if visit(n.ID) {
			// Report in execution direction: a -> b means b waits for a.
			slices.Reverse(found)
			return found
		}
	}
	return nil
}

// String names a plan for logs.
func (p *plan) String() string {
	return fmt.Sprintf("workflow %q (%d nodes)", p.wf.Name, len(p.wf.Nodes))
}
