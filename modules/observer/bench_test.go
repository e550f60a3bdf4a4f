package observer

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"lakehouse/app"
	"lakehouse/config"
	"lakehouse/modules/storage"
)

// auditEvent is a typical middleware row.
func auditEvent() app.AuditEvent {
	return app.AuditEvent{Time: time.Now(), RequestID: "r-123", Principal: "primary", ClientIP: "127.0.0.1",
		Module: "storage", Method: "PUT", Route: "/v1/storage/put/*", Path: "/v1/storage/put/a/b.txt",
		Status: 201, Success: true, DurationMS: 0.42}
}

// BenchmarkAuditRecord measures what the audit middleware adds to every
// write: ring insert, counters, JSON encoding and queueing for the
// flusher (with segments written to a local store in the background).
// The peer is the least any durable audit must do per event: encode it
// and append it under a mutex. The ratio should stay near 1.
func BenchmarkAuditRecord(b *testing.B) {
	const n = 200_000
	st, err := openBenchStore(b)
	if err != nil {
		b.Fatal(err)
	}
	o := NewObserver(2000, 256<<20, nil)
	p := newPersister(st, o, o.log, 512, 1_000_000, 64)
	o.onRecord(p.enqueue)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.run(ctx, 50*time.Millisecond); close(done) }()
	ev := auditEvent()

	for b.Loop() {
		start := time.Now()
		for range n {
			o.Audit(ev)
		}
		ours := time.Since(start)

		var mu sync.Mutex
		var sink [][]byte
		start = time.Now()
		for range n {
			line, _ := json.Marshal(ev)
			mu.Lock()
			sink = append(sink, line)
			mu.Unlock()
		}
		peer := time.Since(start)

		b.ReportMetric(float64(ours.Nanoseconds())/n, "ns/event")
		b.ReportMetric(float64(peer.Nanoseconds())/n, "peer-ns/event")
		b.ReportMetric(float64(ours)/float64(peer), "x-peer")
		b.Logf("audit record: %.0f ns/event (%.0f events/s); peer encode+append %.0f ns/event; ratio %.2fx",
			float64(ours.Nanoseconds())/n, n/ours.Seconds(), float64(peer.Nanoseconds())/n, float64(ours)/float64(peer))
	}
	cancel()
	<-done
	if err := p.flush(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWorkflowNodeOverhead measures the runner's cost per node
// (goroutine, dependency wait, reference resolution, output
// normalisation, audit row) on a 64-node chain of no-op modes, against
// the peer of calling the same mode function 64 times in a loop.
func BenchmarkWorkflowNodeOverhead(b *testing.B) {
	const nodes = 64
	cfg := config.Default().Observer
	o := NewObserver(10_000, 0, nil)
	r := NewRunner(o, cfg, o.log)
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

func openBenchStore(b *testing.B) (storage.Store, error) { return storage.OpenLocal(b.TempDir()) }
