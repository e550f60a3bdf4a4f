package config

import (
	"errors"
	"time"
)

// ServerConfig controls the HTTP server around the modules: how much a
// request may send, how long a client may stall, how many connections and
// requests are served at once, and how much memory the process may use
// before it sheds load. Every limit exists so that one client, careless or
// hostile, cannot take the shared process down for everyone else.
type ServerConfig struct {
	// BodyLimit caps JSON request bodies (routes that stream data set
	// their own, larger caps).
	BodyLimit ByteSize `toml:"body_limit"`
	// ShutdownTimeout is how long in-flight requests may drain on stop.
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// ReadHeaderTimeout bounds slow clients sending headers.
	ReadHeaderTimeout Duration `toml:"read_header_timeout"`
	// MaxHeaderBytes caps the size of a request's headers.
	MaxHeaderBytes ByteSize `toml:"max_header_bytes"`
	// BodyIdleTimeout is how long a request body may send nothing before
	// the request fails with 408.
	BodyIdleTimeout Duration `toml:"body_idle_timeout"`
	// BodyMinRate is the slowest a request body may arrive, in bytes per
	// second of waiting on the client (after a grace of body_idle_timeout);
	// slower bodies fail with 408. 0 disables the floor.
	BodyMinRate ByteSize `toml:"body_min_rate"`
	// WriteIdleTimeout aborts a response when the client reads nothing of
	// it for this long (a client that stops reading holds a goroutine and
	// often a database connection).
	WriteIdleTimeout Duration `toml:"write_idle_timeout"`
	// IdleTimeout closes keep-alive connections idle this long.
	IdleTimeout Duration `toml:"idle_timeout"`
	// MaxConnections caps open client connections; past it the oldest idle
	// connection is closed to make room, and a new one is refused only when
	// every connection is busy. 0 = half the process's file-descriptor limit
	// (at most 4096), so connections can never starve the data files of fds.
	MaxConnections int `toml:"max_connections"`
	// MaxInFlight caps /v1 requests being served at once; past it requests
	// get 503 with Retry-After. /health and /ready are never refused.
	MaxInFlight int `toml:"max_in_flight"`
	// MemoryLimit is the process's memory budget: Go's soft memory limit
	// (GOMEMLIMIT) is set to it, and new /v1 requests get 503 while the
	// resident size is above memory_shed_percent of it. 0 = 60% of the
	// machine's (or cgroup's) memory.
	MemoryLimit ByteSize `toml:"memory_limit"`
	// MemoryShedPercent is the share of memory_limit above which new /v1
	// requests are shed with 503 until memory falls again.
	MemoryShedPercent int `toml:"memory_shed_percent"`
	// GoMaxProcs is the number of threads Go runs goroutines on
	// (GOMAXPROCS). 0 = twice the CPUs the process may use, unless the
	// GOMAXPROCS environment variable is set: with one thread per core, a
	// few CPU-bound requests hold them for 10 ms slices and every other
	// request, /health included, queues behind them.
	GoMaxProcs int `toml:"gomaxprocs"`
}

func defaultServer() ServerConfig {
	return ServerConfig{
		BodyLimit:         4 << 20,
		ShutdownTimeout:   Duration(15 * time.Second),
		ReadHeaderTimeout: Duration(10 * time.Second),
		MaxHeaderBytes:    64 << 10,
		BodyIdleTimeout:   Duration(30 * time.Second),
		BodyMinRate:       1 << 10,
		WriteIdleTimeout:  Duration(60 * time.Second),
		IdleTimeout:       Duration(60 * time.Second),
		MaxInFlight:       256,
		MemoryShedPercent: 90,
	}
}

// Validate checks the server section.
func (c *ServerConfig) Validate() error {
	var errs []error
	if c.BodyLimit <= 0 {
		errs = append(errs, errors.New("body_limit: must be positive"))
	}
	if c.ReadHeaderTimeout <= 0 {
		errs = append(errs, errors.New("read_header_timeout: must be positive"))
	}
	if c.MaxHeaderBytes < 4<<10 {
		errs = append(errs, errors.New("max_header_bytes: must be at least 4KiB"))
	}
	if c.BodyIdleTimeout <= 0 || c.WriteIdleTimeout <= 0 || c.IdleTimeout <= 0 {
		errs = append(errs, errors.New("body_idle_timeout, write_idle_timeout, idle_timeout: must be positive"))
	}
	if c.BodyMinRate < 0 {
		errs = append(errs, errors.New("body_min_rate: must be 0 (off) or positive"))
	}
	if c.MaxConnections < 0 {
		errs = append(errs, errors.New("max_connections: must be 0 (auto) or positive"))
	}
	if c.MaxInFlight <= 0 {
		errs = append(errs, errors.New("max_in_flight: must be positive"))
	}
	if c.MemoryLimit < 0 || (c.MemoryLimit > 0 && c.MemoryLimit < 64<<20) {
		errs = append(errs, errors.New("memory_limit: must be 0 (auto) or at least 64MiB"))
	}
	if c.GoMaxProcs < 0 || c.GoMaxProcs > 1024 {
		errs = append(errs, errors.New("gomaxprocs: must be between 0 (auto) and 1024"))
	}
	if c.MemoryShedPercent < 10 || c.MemoryShedPercent > 100 {
		errs = append(errs, errors.New("memory_shed_percent: must be between 10 and 100"))
	}
	return errors.Join(errs...)
}
