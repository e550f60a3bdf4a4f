package embed_test

import (
	"math"
	"net"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/modules/embed"
)

func TestEmbedRoutesBuiltin(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Embed.MaxTexts = 4 })
	var out embed.EmbedResponse
	s.JSON(t, "POST", "/v1/embed", map[string]any{"texts": []string{"forklift operator", "warehouse equipment driver", "registered nurse"}}, 200, &out)
	if out.Model != "use-lite-512" || out.Dimension != 512 || len(out.Vectors) != 3 || len(out.Vectors[0]) != 512 {
		t.Fatalf("model %q dim %d, %d vectors", out.Model, out.Dimension, len(out.Vectors))
	}
	cos := func(a, b []float32) float64 {
		var d float64
		for i := range a {
			d += float64(a[i]) * float64(b[i])
		}
		return d
	}
	if cos(out.Vectors[0], out.Vectors[1]) <= cos(out.Vectors[0], out.Vectors[2]) {
		t.Fatal("forklift operator should be nearer warehouse equipment driver than registered nurse")
	}
	// Same texts again: answered from the cache.
	var again embed.EmbedResponse
	s.JSON(t, "POST", "/v1/embed", map[string]any{"texts": []string{"forklift operator"}, "model": "use-lite-512"}, 200, &again)
	if math.Abs(cos(again.Vectors[0], out.Vectors[0])-1) > 1e-6 {
		t.Fatal("cached vector differs")
	}
	var st embed.StatsResponse
	s.JSON(t, "GET", "/v1/embed/stats", nil, 200, &st)
	if st.Hits != 1 || st.Misses != 3 || st.Size != 3 || st.HitRate != 0.25 || st.Provider != "builtin" {
		t.Fatalf("stats %+v", st)
	}

	s.Fail(t, "POST", "/v1/embed", map[string]any{"texts": []string{}}, 400)
	e := s.Fail(t, "POST", "/v1/embed", map[string]any{"texts": []string{"ok", "  "}}, 400)
	if !strings.Contains(e.Error.Message, "texts[1]") {
		t.Fatalf("message %q", e.Error.Message)
	}
	s.Fail(t, "POST", "/v1/embed", map[string]any{"texts": []string{"a", "b", "c", "d", "e"}}, 413)
	e = s.Fail(t, "POST", "/v1/embed", map[string]any{"texts": []string{"a"}, "model": "nomic-embed-text"}, 502)
	if e.Error.Code != "unknown_model" {
		t.Fatalf("code %q", e.Error.Code)
	}
	s.Fail(t, "POST", "/v1/embed", map[string]any{"texts": []string{"a"}, "purpose": "gossip"}, 400)
	resp, body := s.Do(t, "POST", "/v1/embed", "{\n\"texts\": [1,]}")
	if resp.StatusCode != 400 || !strings.Contains(string(body), "line 2") {
		t.Fatalf("bad JSON: %d %s", resp.StatusCode, body)
	}
}

func TestEmbedRouteProviderDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	s := apptest.Start(t, func(c *config.Config) {
		c.Embed.Provider = "ollama"
		c.Embed.Ollama.BaseURL = url
		c.Embed.Retries = 1
		c.Embed.RetryBackoff = config.Duration(1)
	})
	e := s.Fail(t, "POST", "/v1/embed", map[string]any{"texts": []string{"a"}}, 502)
	if e.Error.Code != "embed_unavailable" {
		t.Fatalf("code %q: %s", e.Error.Code, e.Error.Message)
	}
}
