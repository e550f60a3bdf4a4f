package workflow

import (
	"context"
	"fmt"
	"testing"
	"time"

	"lakehouse/config"
	"lakehouse/modules/observer"
)

// BenchmarkWorkflowNodeOverhead measures the runner's cost per node
// (goroutine, dependency wait, reference resolution, output
// normalisation, audit row) on a 64-node chain of no-op modes, against
// the peer of calling the same mode function 64 times in a loop.
func BenchmarkWorkflowNodeOverhead(b *testing.B) {
	const nodes = 64
	cfg := config.Default().Workflow
	o := observer.NewObserver(10_000, 0, nil)
	r := NewRunner(o, cfg, nil)
	defer r.Close()
	echo := func(_ context.Context, in Inputs) (any, error) { return map[string]any{"v": in["v"]}, nil }
	r.RegisterMode("noop", echo)
	wf := Workflow{Name: "chain"}
	for i := range nodes {
		n := Node{ID: fmt.Sprint("n", i), Mode: "noop", Inputs: map[string]any{"v": 1.0}}
		if i > 0 {
			n.Inputs["v"] = fmt.Sprintf("$n%d.output.v", i-1)
		}
		wf.Nodes = append(wf.Nodes, n)
	}
	for b.Loop() {
		start := time.Now()
		rs, err := r.Start(context.Background(), wf, Caller{})
		if err != nil {
			b.Fatal(err)
		}
		if err := rs.wait(context.Background()); err != nil {
			b.Fatal(err)
		}
		ours := time.Since(start)
		start = time.Now()
		in := Inputs{"v": 1.0}
		for range nodes {
			out, _ := echo(context.Background(), in)
			in = Inputs(out.(map[string]any))
		}
		peer := time.Since(start)
		b.ReportMetric(float64(ours.Microseconds())/nodes, "us/node")
		b.Logf("workflow: %.1f µs/node over a %d-node chain (peer direct calls %.2f µs/node)",
			float64(ours.Microseconds())/nodes, nodes, float64(peer.Nanoseconds())/1000/nodes)
	}
}
