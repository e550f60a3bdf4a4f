package app

import (
	"bufio"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"lakehouse/config"
	"lakehouse/modules/kit"
)

// The process-wide guards: a cap on requests served at once and a memory
// budget. Per-request caps (body sizes, result bytes, SQL length, ...)
// bound what one request may take; these bound what all of them together
// may take, so that overload answers 503 and the process stays up.

// maxConnections resolves server.max_connections (0 = half the fd limit,
// at most 4096, at least 64).
func maxConnections(cfg config.ServerConfig) int {
	if cfg.MaxConnections > 0 {
		return cfg.MaxConnections
	}
	n := fdLimit() / 2
	if n <= 0 || n > 4096 {
		n = 4096
	}
	if n < 64 {
		n = 64
	}
	return n
}

// inFlightLimit answers 503 once max requests are being served.
func inFlightLimit(max int) echo.MiddlewareFunc {
	var n atomic.Int64
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if n.Add(1) > int64(max) {
				n.Add(-1)
				return kit.Unavailable(1, "the server is serving %d requests already (server.max_in_flight); retry shortly", max)
			}
			defer n.Add(-1)
			return next(c)
		}
	}
}

// memoryGuard samples the resident size and sheds new requests while it is
// above the threshold. It reads RSS, not the Go heap, because DuckDB's
// buffers live outside Go's accounting.
type memoryGuard struct {
	limit     int64 // the budget (bytes)
	threshold int64 // shed above this RSS
	rss       atomic.Int64
	shed      atomic.Int64 // requests refused, for logs and tests
	stop      chan struct{}
}

// newMemoryGuard applies the memory budget: Go's soft limit is set to it
// (unless GOMEMLIMIT in the environment already chose one and the config
// leaves it to auto) and a sampler starts.
func newMemoryGuard(cfg config.ServerConfig, log *slog.Logger) *memoryGuard {
	limit := int64(cfg.MemoryLimit)
	if limit <= 0 {
		limit = systemMemory() * 6 / 10
	}
	if cfg.MemoryLimit > 0 || os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(limit)
	}
	g := &memoryGuard{limit: limit, threshold: limit / 100 * int64(cfg.MemoryShedPercent), stop: make(chan struct{})}
	g.rss.Store(readRSS())
	go g.sample()
	if log != nil {
		log.Info("memory budget", "limit_bytes", limit, "shed_above_bytes", g.threshold)
	}
	return g
}

func (g *memoryGuard) sample() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
			g.rss.Store(readRSS())
		}
	}
}

func (g *memoryGuard) close() {
	select {
	case <-g.stop:
	default:
		close(g.stop)
	}
}

// middleware refuses new requests while memory is above the threshold.
func (g *memoryGuard) middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if rss := g.rss.Load(); rss > g.threshold {
				g.shed.Add(1)
				return kit.Unavailable(2, "the server is low on memory (%d MiB resident, budget %d MiB: server.memory_limit); retry shortly",
					rss>>20, g.limit>>20)
			}
			return next(c)
		}
	}
}

// readRSS is the process's resident set size from /proc (0 elsewhere).
func readRSS() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// systemMemory is the memory this process may use: the cgroup v2 limit
// when one is set, else physical memory, else a conservative 4 GiB.
func systemMemory() int64 {
	if data, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64); err == nil && v > 0 && v < math.MaxInt64/2 {
			return v
		}
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 2 && fields[0] == "MemTotal:" {
				if kb, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return 4 << 30
}
