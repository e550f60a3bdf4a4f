package observer

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"lakehouse/modules/kit"
	"lakehouse/modules/storage"
)

// auditEvent is a typical middleware row.
func auditEvent() kit.AuditEvent {
	return kit.AuditEvent{Time: time.Now(), RequestID: "r-123", Principal: "primary", ClientIP: "127.0.0.1",
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

func openBenchStore(b *testing.B) (storage.Store, error) { return storage.OpenLocal(b.TempDir()) }
