package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"lakehouse/config"
	"lakehouse/modules/kit"
)

// pingModule serves one cheap gated route, the authenticated counterpart
// of /health.
type pingModule struct{}

func (pingModule) Name() string                                   { return "storage" }
func (pingModule) Deps() []string                                 { return nil }
func (pingModule) Init(_ context.Context, _ *kit.Container) error { return nil }
func (pingModule) Routes(g *echo.Group) {
	g.GET("/ping", func(c echo.Context) error { return c.JSON(200, map[string]string{"status": "ok"}) })
}

func (pingModule) RoutePerms() map[string]kit.Perm {
	return map[string]kit.Perm{"GET /ping": kit.Need(kit.RoleReader)}
}

// loadTest drives handler over real loopback TCP with 32 keep-alive
// clients for d and returns requests per second.
func loadTest(b *testing.B, handler http.Handler, path, token string, d time.Duration) float64 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + path
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest("GET", url, nil)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

// BenchmarkHTTPEdge compares our server's /health and a gated route with a
// bare echo answering the same small JSON, in the same run (the peer of
// BENCHMARKS.md's "HTTP edge"). Goal: within 10% of bare echo.
func BenchmarkHTTPEdge(b *testing.B) {
	const d = 3 * time.Second
	bare := echo.New()
	bare.GET("/health", func(c echo.Context) error {
		return c.JSON(200, map[string]any{"status": "ok", "service": "lakehouse", "version": Version})
	})
	ours := benchServer(b, slog.LevelInfo)
	quiet := benchServer(b, slog.LevelWarn) // access log off: the gate's own cost
	for i := 0; i < b.N; i++ {
		peer := loadTest(b, bare, "/health", "", d)
		health := loadTest(b, ours.Echo, "/health", "", d)
		gated := loadTest(b, ours.Echo, "/v1/storage/ping", "bench-token", d)
		gatedQuiet := loadTest(b, quiet.Echo, "/v1/storage/ping", "bench-token", d)
		b.ReportMetric(peer, "bare-echo-req/s")
		b.ReportMetric(health/peer, "health/bare")
		b.ReportMetric(gated/peer, "gated/bare")
		b.ReportMetric(gatedQuiet/peer, "gated-nolog/bare")
		fmt.Printf("HTTP edge: bare echo %.0f req/s; /health %.0f (%.2fx); gated /v1/storage/ping %.0f (%.2fx); "+
			"gated without the access log %.0f (%.2fx)\n",
			peer, health, health/peer, gated, gated/peer, gatedQuiet, gatedQuiet/peer)
	}
}

// benchServer is the real server with one cheap gated route; the access
// log is formatted (to io.Discard) when level admits Info.
func benchServer(b *testing.B, level slog.Level) *Server {
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.Auth.Token = "bench-token"
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: level}))
	c := kit.NewContainer(cfg, log)
	_ = c.Register(pingModule{})
	plan, _ := c.Plan([]string{"storage"})
	if err := c.Init(context.Background(), plan); err != nil {
		b.Fatal(err)
	}
	s, err := NewServer(c, []string{"storage"})
	if err != nil {
		b.Fatal(err)
	}
	return s
}
