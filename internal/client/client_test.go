package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"lakehouse/internal/client"
)

func TestClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":{"code":"unauthorized","message":"no token","details":{}}}`)
			return
		}
		switch r.URL.Path {
		case "/echo":
			if r.Header.Get("Content-Type") != "application/json" {
				w.WriteHeader(415)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"n": 12345678901234567890}`)
		case "/missing":
			w.WriteHeader(404)
			fmt.Fprint(w, `{"error":{"code":"not_found","message":"no such thing","details":{"name":"x"}}}`)
		case "/plain":
			w.WriteHeader(502)
			fmt.Fprint(w, "bad gateway\n")
		case "/big":
			fmt.Fprint(w, strings.Repeat("x", 2000))
		case "/stream":
			w.Header().Set("Content-Type", "application/x-ndjson")
			fmt.Fprint(w, "{\"event\":\"progress\"}\n\n{\"event\":\"done\"}\n")
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c := client.New(srv.URL+"/", "tok", nil)

	var out map[string]any
	if err := c.Call(ctx, "POST", "/echo", map[string]any{"a": 1}, &out); err != nil || fmt.Sprint(out["n"]) != "12345678901234567890" {
		t.Fatalf("call: %v %v", err, out)
	}
	err := c.Call(ctx, "GET", "/missing", nil, nil)
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Code != "not_found" || ae.Details["name"] != "x" || !client.IsStatus(err, 404) {
		t.Fatalf("404: %v", err)
	}
	if err := c.Call(ctx, "GET", "/plain", nil, nil); !client.IsStatus(err, 502) || !strings.Contains(err.Error(), "bad gateway") {
		t.Fatalf("plain error: %v", err)
	}
	if err := client.New(srv.URL, "", nil).Call(ctx, "GET", "/echo", nil, nil); !client.IsStatus(err, 401) {
		t.Fatalf("no token: %v", err)
	}
	c.MaxAnswerBytes = 1000
	if err := c.Call(ctx, "GET", "/big", nil, nil); !errors.Is(err, client.ErrTooLarge) {
		t.Fatalf("big: %v", err)
	}
	var lines []string
	if err := c.Stream(ctx, "POST", "/stream", map[string]any{}, func(b []byte) error { lines = append(lines, string(b)); return nil }); err != nil || len(lines) != 2 {
		t.Fatalf("stream: %v %q", err, lines)
	}
	resp, err := c.Send(ctx, client.Request{Method: "GET", Path: "/missing"})
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("send: %v", err)
	}
	resp.Body.Close()
	srv.Close()
	if err := c.Call(ctx, "GET", "/echo", nil, nil); !errors.Is(err, client.ErrUnreachable) {
		t.Fatalf("down: %v", err)
	}
}
