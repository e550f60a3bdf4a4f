package main

import (
	"context"
	"fmt"
	apiclient "lakehouse/internal/client"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

// stats collects latencies and statuses per route.
type stats struct {
	mu         sync.Mutex
	lat        map[string][]time.Duration
	status     map[string]map[int]int
	unexpected map[string]int
	transport  map[string]int
	phase      map[string][]time.Duration
}

func newStats() *stats {
	return &stats{lat: map[string][]time.Duration{}, status: map[string]map[int]int{},
		unexpected: map[string]int{}, transport: map[string]int{}, phase: map[string][]time.Duration{}}
}

// addPhases records server-side phase times; they are shown with the
// routes but carry no statuses of their own.
func (s *stats) addPhases(p map[string]time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, d := range p {
		s.phase[name] = append(s.phase[name], d)
	}
}

func (s *stats) add(route string, d time.Duration, status int, err error, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lat[route] = append(s.lat[route], d)
	if s.status[route] == nil {
		s.status[route] = map[int]int{}
	}
	if err != nil {
		s.transport[route]++
		return
	}
	s.status[route][status]++
	if !ok {
		s.unexpected[route]++
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := append([]time.Duration(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func run(ctx context.Context, cfg config) (int, error) {
	srv, err := startServer(ctx, cfg.bin)
	if err != nil {
		return 0, err
	}
	defer srv.stop()
	transport := &http.Transport{MaxIdleConnsPerHost: cfg.clients, MaxConnsPerHost: 0}
	c := newClient(srv.url, &http.Client{Timeout: 60 * time.Second, Transport: transport})
	fmt.Printf("lakehouse load: %d clients for %s against %s\n", cfg.clients, cfg.duration, srv.url)
	if err := seed(ctx, c, cfg.rows); err != nil {
		return 0, err
	}
	st := newStats()
	ops := mix()
	runCtx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	sampler := &catalogSampler{api: apiclient.New(srv.url, token, &http.Client{Timeout: 30 * time.Second}),
		every: max(10*time.Second, cfg.duration/6), start: start}
	wg.Add(1)
	go func() { defer wg.Done(); sampler.run(runCtx) }()
	for i := 0; i < cfg.clients; i++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 99))
			for runCtx.Err() == nil {
				o := pick(ops, r)
				method, path, ctype, body := o.build(r)
				t0 := time.Now()
				status, answer, err := c.send(runCtx, method, path, ctype, body, o.phases)
				if runCtx.Err() != nil {
					return // the run ended mid-request; not the server's fault
				}
				shed := status == 503 || status == 429
				st.add(o.route, time.Since(t0), status, err, expected(o, status) || shed)
				if o.phases && status/100 == 2 {
					st.addPhases(phases(o.route, answer))
				}
			}
		}(uint64(i))
	}
	// The prober: /health on its own connection every 50 ms.
	var health []time.Duration
	var healthFail int
	var peakRSS int64
	probe := newClient(srv.url, &http.Client{Timeout: 5 * time.Second})
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case <-runCtx.Done():
			break loop
		case <-tick.C:
			t0 := time.Now()
			status, err := probe.do(runCtx, "GET", "/health", "", nil)
			if runCtx.Err() != nil {
				break loop
			}
			health = append(health, time.Since(t0))
			if err != nil || status != 200 {
				healthFail++
			}
			if cur, _ := srv.rss(); cur > peakRSS {
				peakRSS = cur
			}
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	sampler.sample(ctx)
	defer sampler.report()
	_, hwm := srv.rss()
	return report(st, health, healthFail, max(peakRSS, hwm), elapsed, srv, cfg), nil
}

func report(st *stats, health []time.Duration, healthFail int, peakRSS int64, elapsed time.Duration, srv *server, cfg config) int {
	routes := make([]string, 0, len(st.lat))
	total := 0
	for r, ds := range st.lat {
		routes = append(routes, r)
		total += len(ds)
	}
	sort.Strings(routes)
	fmt.Printf("\n%d requests in %s: %.0f req/s\n\n", total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())
	fmt.Printf("%-28s %8s %9s %9s  %s\n", "route", "count", "p50", "p99", "statuses")
	unexpected := 0
	for _, r := range routes {
		ds := st.lat[r]
		fmt.Printf("%-28s %8d %9s %9s  %v", r, len(ds), percentile(ds, 0.5).Round(10*time.Microsecond),
			percentile(ds, 0.99).Round(10*time.Microsecond), st.status[r])
		if n := st.transport[r]; n > 0 {
			fmt.Printf(" transport-errors=%d", n)
		}
		fmt.Println()
		unexpected += st.unexpected[r] + st.transport[r]
		for _, p := range []string{" server", " convert", " commit"} {
			if ds := st.phase[r+p]; len(ds) > 0 {
				fmt.Printf("  %-26s %8d %9s %9s\n", "…"+p, len(ds), percentile(ds, 0.5).Round(10*time.Microsecond),
					percentile(ds, 0.99).Round(10*time.Microsecond))
			}
		}
	}
	hp99 := percentile(health, 0.99)
	fmt.Printf("%-28s %8d %9s %9s  failures=%d\n", "GET /health (prober)", len(health),
		percentile(health, 0.5).Round(10*time.Microsecond), hp99.Round(10*time.Microsecond), healthFail)
	fmt.Printf("\npeak RSS %d MiB; unexpected errors %d\n", peakRSS>>20, unexpected)
	code := 0
	if unexpected > 0 {
		fmt.Fprintln(os.Stderr, "FAIL: unexpected errors (see statuses above)")
		code = 1
	}
	if hp99 >= cfg.healthP99 || healthFail > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: /health p99 %s (limit %s), %d failures\n", hp99, cfg.healthP99, healthFail)
		code = 1
	}
	if ap99 := percentile(st.lat[appendRoute], 0.99); ap99 >= cfg.appendP99 {
		fmt.Fprintf(os.Stderr, "FAIL: appends' p99 %s (limit %s)\n", ap99, cfg.appendP99)
		code = 1
	}
	if !srv.alive() {
		fmt.Fprintln(os.Stderr, "FAIL: the server died")
		code = 1
	}
	return code
}
