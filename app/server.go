package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"lakehouse/modules/kit"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Version is stamped at build time with -ldflags "-X lakehouse/app.Version=...".
var Version = "dev"

// Server is the one HTTP server in front of every module.
type Server struct {
	Echo   *echo.Echo
	routes *routeTable
	c      *kit.Container
	log    *slog.Logger
	conns  *connGuard
	memory *memoryGuard

	sessions *sessionStore // the UI's login sessions (session.go)
	// stopping is closed when the drain begins: long-lived endpoint
	// streams (MCP sessions) end then, instead of holding the drain
	// until its timeout.
	stopping chan struct{}
}

// NewServer builds the echo server: open /health, and /ready plus the
// routes of the exposed modules behind the auth gate. exposed names the
// modules whose routes are mounted; others answer 404.
func NewServer(c *kit.Container, exposed []string) (*Server, error) {
	cfg := c.Config()
	gate, err := NewGate(cfg.Auth)
	if err != nil {
		return nil, err
	}
	if gate.sessions, err = openSessionStore(cfg.DataDir); err != nil {
		return nil, err
	}
	log := c.Logger("http")
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	scrub := kit.NewPathScrubber(cfg.DataDir)
	e.HTTPErrorHandler = errorHandler(log, scrub)
	e.Use(middleware.RequestID())
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set(kit.ContextScrubber, scrub) // for kit.AnswerFor
			return next(c)
		}
	})
	e.Use(requestLogger(log))
	e.Use(recoverJSON(log))
	e.Use(securityHeaders())
	if !cfg.Auth.Enabled() {
		e.Use(loopbackHostOnly())
	}
	e.Use(paceWrites(cfg.Server.WriteIdleTimeout.D()))
	routes := newRouteTable()
	gate.routes = routes
	e.Use(routes.moduleContext())
	metrics, ok := kit.Lookup[*kit.Metrics](c)
	if !ok {
		metrics = kit.NewMetrics()
	}
	e.Use(metricsMiddleware(metrics))
	memory := newMemoryGuard(cfg.Server, log)
	applyProcs(cfg.Server, log)

	health, _ := json.Marshal(map[string]any{"status": "ok", "service": "lakehouse", "version": Version})
	e.GET("/health", func(ec echo.Context) error {
		return ec.JSONBlob(http.StatusOK, health)
	})
	// The API's description is as open as /health: it holds no data.
	oapi := &openAPI{}
	e.GET("/openapi.json", func(ec echo.Context) error { return oapi.handler(e, routes)(ec) })
	e.GET("/ready", func(ec echo.Context) error { return ready(ec, c) }, gate.Middleware())
	// Prometheus sends a bearer token like any client; in dev mode it is open.
	e.GET("/metrics", metrics.Handler(), gate.Middleware())
	pace := kit.BodyPace{Idle: cfg.Server.BodyIdleTimeout.D(), MinRate: int64(cfg.Server.BodyMinRate)}
	api := e.Group("/v1", gate.Authenticate(), sameOriginWrites(), inFlightLimit(cfg.Server.MaxInFlight),
		memory.middleware(), kit.PolicedBody(int64(cfg.Server.BodyLimit), pace), auditMiddleware(c), gate.Authorize())
	mountSessions(e, gate, sameOriginWrites(), kit.PolicedBody(64<<10, pace), auditMiddleware(c))
	if err := routes.mountSessionAdmin(e, api, gate); err != nil {
		return nil, err
	}
	routes.perms["GET /ready"] = kit.Need(kit.RoleReader)
	routes.perms["GET /metrics"] = kit.Need(kit.RoleReader)
	mounted := map[string]bool{}
	for _, n := range exposed {
		mounted[n] = true
	}
	var routers []kit.Module
	for _, m := range c.Running() {
		if _, ok := m.(kit.Router); ok {
			routers = append(routers, m)
		}
	}
	if err := checkPrefixes(routers, c.Module); err != nil {
		return nil, err
	}
	for _, m := range c.Running() {
		if r, ok := m.(kit.Router); ok && mounted[m.Name()] {
			if err := routes.mount(e, api, m, r); err != nil {
				return nil, err
			}
		}
		if r, ok := m.(kit.RootRouter); ok && mounted[m.Name()] {
			if err := routes.record(e, m, func() { r.RootRoutes(e, gate.Middleware()) }); err != nil {
				return nil, err
			}
			if pm, ok := m.(kit.RootPermissioned); ok {
				if err := routes.permit(m, "", pm.RootRoutePerms()); err != nil {
					return nil, err
				}
			}
		}
	}
	stopping := make(chan struct{})
	if ep, ok := kit.Lookup[kit.Endpoint](c); ok {
		h := echo.WrapHandler(endStreamsAt(stopping, ep.Handler(e)))
		if err := routes.server(e, func() {
			e.Match([]string{http.MethodGet, http.MethodPost, http.MethodDelete}, ep.Path(), h,
				gate.Middleware(), sameOriginWrites(), inFlightLimit(cfg.Server.MaxInFlight), memory.middleware())
		}, map[string]kit.Perm{"* " + ep.Path(): kit.Need(ep.Need())}); err != nil {
			return nil, err
		}
	}
	if web, ok := kit.Lookup[WebUI](c); ok {
		web.Mount(e)
	}
	routes.seal(e)
	if missing := routes.unpermitted(); len(missing) > 0 {
		return nil, fmt.Errorf("server: routes with no declared permission (kit.Permissioned): %s", strings.Join(missing, ", "))
	}
	return &Server{Echo: e, routes: routes, c: c, log: log, conns: newConnGuard(maxConnections(cfg.Server), log), memory: memory,
		sessions: gate.sessions, stopping: stopping}, nil
}

// Routes lists the mounted module routes and their owners.
func (s *Server) Routes() []kit.RouteInfo { return s.routes.routes() }

// WebUI is provided by the web package to serve the embedded UI; the UI's
// own calls go through the gated /v1 routes.
type WebUI interface{ Mount(e *echo.Echo) }

func ready(ec echo.Context, c *kit.Container) error {
	ctx, cancel := context.WithTimeout(ec.Request().Context(), 5*time.Second)
	defer cancel()
	checks := map[string]any{}
	ok := true
	warnings := c.Warnings(ctx)
	for name, err := range c.Check(ctx) {
		entry := map[string]any{"ok": true}
		if err != nil {
			ok = false
			entry = map[string]any{"ok": false, "error": err.Error()}
		}
		if w := warnings[name]; len(w) > 0 {
			entry["warnings"] = w
		}
		checks[name] = entry
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	return ec.JSON(status, map[string]any{"ready": ok, "modules": checks})
}

// Serve serves on ln until ctx is cancelled, then drains in-flight
// requests for up to the configured shutdown timeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	cfg := s.c.Config()
	defer s.memory.close()
	srv := &http.Server{
		Handler:           s.Echo,
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout.D(),
		IdleTimeout:       cfg.Server.IdleTimeout.D(),
		MaxHeaderBytes:    int(cfg.Server.MaxHeaderBytes),
		ConnState:         s.conns.track,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.conns.listener(ln)) }()
	s.log.Info("listening", "addr", ln.Addr().String(), "version", Version)
	select {
	case err := <-errc:
		return fmt.Errorf("http: serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "drain_timeout", cfg.Server.ShutdownTimeout.D().String())
	dctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.D())
	defer cancel()
	close(s.stopping)
	if err := srv.Shutdown(dctx); err != nil {
		return fmt.Errorf("http: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http: serve: %w", err)
	}
	return nil
}

// Close releases what NewServer started (the memory sampler), for a server
// driven in-process through Echo.ServeHTTP instead of Serve (`lakehouse
// mcp` in in-process mode). Serve calls it itself.
func (s *Server) Close() { s.memory.close() }

// requestLogger writes one slog line per request.
func requestLogger(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			status := statusOf(c, err)
			level := slog.LevelInfo
			switch {
			case c.Path() == "/health" && status == http.StatusOK:
				level = slog.LevelDebug // probes every few seconds would drown the log
			case status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
				level = slog.LevelWarn // overload and timeouts are the client's to retry
			case status >= 500:
				level = slog.LevelError
			}
			log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
				slog.String("method", c.Request().Method),
				slog.String("path", c.Request().URL.Path),
				slog.Int("status", status),
				slog.Int64("bytes", c.Response().Size),
				slog.Float64("ms", float64(time.Since(start).Microseconds())/1000),
				slog.String("remote", c.Request().RemoteAddr))
			return err
		}
	}
}

// recoverJSON turns a handler panic into a 500 JSON error and a log line
// with the stack, so one bad request never takes the process down.
func recoverJSON(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					log.Error("panic in handler", "panic", fmt.Sprint(r), "path", c.Request().URL.Path,
						"stack", string(debug.Stack()))
					err = kit.Errorf(http.StatusInternalServerError, "internal", "internal error (panic): %v", r)
				}
			}()
			return next(c)
		}
	}
}

// endStreamsAt cancels the context of h's requests when stopping closes,
// so a request that streams for as long as its client stays (an MCP
// session's responses) ends when the server drains; ordinary requests
// finish on their own within the drain.
func endStreamsAt(stopping <-chan struct{}, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		go func() {
			select {
			case <-stopping:
				cancel()
			case <-ctx.Done():
			}
		}()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}
