// Command load drives a built lakehouse binary on 127.0.0.1 with many
// concurrent clients of mixed traffic (SQL, vector search, embed, ingest,
// pathway, observer) and reports throughput, latency per route, errors by
// status and the server's peak resident memory. A separate prober hits
// /health throughout, because the point is that nobody's traffic can take
// the shared process away from everyone else.
//
//	go run ./tools/load -bin bin/lakehouse -clients 100 -duration 60s
//
// It exits 1 when a request fails unexpectedly (a 5xx other than a 503
// load-shed, a transport error, or any 4xx the driver did not provoke on
// purpose), when /health's p99 is 100 ms or more, when appends' p99 is
// 2 s or more (issue #26's goal at 100 clients), or when the server dies.
//
// The /health limit was 50 ms while appends parked most clients in a
// queue (400 req/s offered); with group commit the same 100 closed-loop
// clients offer ~1 000 req/s to 2 cores, DuckDB's query threads share the
// CPU with Go's, and /health's p99 reads 55–82 ms. 100 ms is still a
// tenth of a liveness probe's usual 1 s timeout.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"
)

func main() {
	bin := flag.String("bin", "bin/lakehouse", "the lakehouse binary to start")
	clients := flag.Int("clients", 100, "concurrent clients (bounded to 1..2000)")
	duration := flag.Duration("duration", 60*time.Second, "how long to run (bounded to 1s..1h)")
	rows := flag.Int("rows", 20000, "rows in the seed dataset")
	healthP99 := flag.Duration("health-p99", 100*time.Millisecond, "fail when /health's p99 reaches this")
	appendP99 := flag.Duration("append-p99", 2*time.Second, "fail when ingest appends' p99 reaches this")
	flag.Parse()
	*clients = clamp(*clients, 1, 2000)
	*duration = time.Duration(clamp(int(*duration), int(time.Second), int(time.Hour)))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	code, err := run(ctx, config{bin: *bin, clients: *clients, duration: *duration, rows: *rows, healthP99: *healthP99, appendP99: *appendP99})
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

type config struct {
	bin       string
	clients   int
	duration  time.Duration
	rows      int
	healthP99 time.Duration
	appendP99 time.Duration
}

func clamp(v, lo, hi int) int {
	return max(lo, min(hi, v))
}
