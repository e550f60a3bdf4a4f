package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	apiclient "lakehouse/internal/client"
)

// op is one kind of request the clients send; weight is its share of the mix.
type op struct {
	route  string
	weight int
	// build returns method, path, content type and body for one request.
	build func(r *rand.Rand) (string, string, string, []byte)
	// expect lists statuses the driver provokes on purpose besides 2xx.
	expect []int
	// phases: the answer reports phase times, shown under the route.
	phases bool
}

var cities = []string{"Chicago", "Austin", "Denver", "Boston", "Seattle", "Atlanta", "Phoenix", "Miami"}
var roles = []string{"Java Developer", "Forklift Driver", "Electrician", "CNC Operator", "Warehouse Picker", "Nurse"}

func jsonBody(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// mix is the traffic: mostly reads, as in a team's day, with steady writes.
func mix() []op {
	return []op{
		{route: "POST /v1/sql (aggregate)", weight: 20, build: func(r *rand.Rand) (string, string, string, []byte) {
			return "POST", "/v1/sql", "application/json", jsonBody(map[string]any{
				"sql":    "SELECT city, count(*) AS n, avg(rate) AS r FROM load_people WHERE role = ? GROUP BY city ORDER BY n DESC",
				"params": []any{roles[r.IntN(len(roles))]}})
		}},
		{route: "POST /v1/sql (point)", weight: 15, build: func(r *rand.Rand) (string, string, string, []byte) {
			return "POST", "/v1/sql", "application/json", jsonBody(map[string]any{
				"sql": "SELECT * FROM load_people WHERE id = ?", "params": []any{fmt.Sprintf("P-%06d", r.IntN(1000))}})
		}},
		{route: "POST /v1/sql (bomb)", weight: 1, build: func(r *rand.Rand) (string, string, string, []byte) {
			// The careless analyst: an answer far past the caps; it must be
			// truncated or refused, never take the server down.
			return "POST", "/v1/sql", "application/json", jsonBody(map[string]any{"sql": "SELECT range(40000000)", "timeout_ms": 5000})
		}, expect: []int{400, 413, 504}},
		{route: "POST /v1/vectors/search", weight: 15, build: func(r *rand.Rand) (string, string, string, []byte) {
			return "POST", "/v1/vectors/index/load_vec/search", "application/json", jsonBody(map[string]any{
				"vector": randomVector(r, vecDim), "k": 10})
		}},
		{route: "POST /v1/embed", weight: 10, build: func(r *rand.Rand) (string, string, string, []byte) {
			return "POST", "/v1/embed", "application/json", jsonBody(map[string]any{
				"texts": []string{fmt.Sprintf("%s in %s, %d years", roles[r.IntN(len(roles))], cities[r.IntN(len(cities))], r.IntN(30))}})
		}},
		{route: "POST /v1/vectors/add", weight: 5, build: func(r *rand.Rand) (string, string, string, []byte) {
			return "POST", "/v1/vectors/index/load_vec/add", "application/json", jsonBody(map[string]any{
				"items": []any{map[string]any{"id": fmt.Sprintf("v-%d", r.IntN(100000)), "vector": randomVector(r, vecDim),
					"metadata": map[string]any{"city": cities[r.IntN(len(cities))]}}}})
		}},
		{route: appendRoute, weight: 2, phases: true, build: func(r *rand.Rand) (string, string, string, []byte) {
			return "POST", "/v1/ingest?name=load_events&mode=append", "text/csv", eventsCSV(r, 50)
		}},
		{route: "POST /v1/pathway/add", weight: 10, build: func(r *rand.Rand) (string, string, string, []byte) {
			return "POST", "/v1/pathway/add", "application/json", jsonBody(map[string]any{
				"content": map[string]any{"note": "called " + roles[r.IntN(len(roles))], "n": r.IntN(1000)}, "tags": []string{"load"}})
		}},
		{route: "POST /v1/pathway/search", weight: 5, build: func(r *rand.Rand) (string, string, string, []byte) {
			return "POST", "/v1/pathway/search", "application/json", jsonBody(map[string]any{"tags": []string{"load"}, "limit": 10})
		}},
		{route: "POST /v1/observer/event", weight: 10, build: func(r *rand.Rand) (string, string, string, []byte) {
			return "POST", "/v1/observer/event", "application/json", jsonBody(map[string]any{
				"endpoint": "/load/" + roles[r.IntN(len(roles))], "source": "scenario", "success": r.IntN(10) > 0})
		}},
		{route: "GET /v1/catalog/list", weight: 5, build: func(r *rand.Rand) (string, string, string, []byte) {
			return "GET", "/v1/catalog/list", "", nil
		}},
		{route: "GET /v1/observer/events", weight: 2, build: func(r *rand.Rand) (string, string, string, []byte) {
			return "GET", "/v1/observer/events?limit=50", "", nil
		}},
	}
}

const vecDim = 64

// appendRoute is the ingest appends' row, which has a p99 limit of its own.
const appendRoute = "POST /v1/ingest (append)"

func randomVector(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func peopleCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("id,name,city,role,rate\n")
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "P-%06d,Person %d,%s,%s,%.2f\n", i, i, cities[r.IntN(len(cities))], roles[r.IntN(len(roles))], 15+r.Float64()*60)
	}
	return b.Bytes()
}

func eventsCSV(r *rand.Rand, n int) []byte {
	var b bytes.Buffer
	b.WriteString("at,person,kind\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%d,P-%06d,%s\n", time.Now().UnixNano()+int64(i), r.IntN(1000), []string{"call", "email", "sms"}[r.IntN(3)])
	}
	return b.Bytes()
}

// client sends requests with the bearer token through the API client and
// returns the status, whatever it is (shed load is counted, not failed).
type client struct{ api *apiclient.Client }

func newClient(base string, hc *http.Client) *client {
	return &client{api: apiclient.New(base, token, hc)}
}

func (c *client) do(ctx context.Context, method, path, ctype string, body []byte) (int, error) {
	status, _, err := c.send(ctx, method, path, ctype, body, false)
	return status, err
}

// send is do that can keep the answer (keep), for the routes whose
// answer the report breaks down.
func (c *client) send(ctx context.Context, method, path, ctype string, body []byte, keep bool) (int, []byte, error) {
	req := apiclient.Request{Method: method, Path: path, ContentType: ctype}
	if body != nil {
		req.Body = bytes.NewReader(body)
	}
	resp, err := c.api.Send(ctx, req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if keep {
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, b, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil, nil
}

// ingestPhases are the phase times an ingest answer reports; the report
// shows them beside the client's latency, so a slow append can be told
// apart as waiting (client minus server), converting or committing.
type ingestPhases struct {
	ElapsedMS float64 `json:"elapsed_ms"`
	ConvertMS float64 `json:"convert_ms"`
	PublishMS float64 `json:"publish_ms"`
}

// phases returns the answer's phases as report rows (nil when it has none).
func phases(route string, answer []byte) map[string]time.Duration {
	var a struct {
		Ingest ingestPhases `json:"ingest"`
	}
	if json.Unmarshal(answer, &a) != nil || a.Ingest.ElapsedMS == 0 {
		return nil
	}
	p := a.Ingest
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	return map[string]time.Duration{
		route + " server":  ms(p.ElapsedMS),
		route + " convert": ms(p.ConvertMS),
		route + " commit":  ms(p.PublishMS),
	}
}

// seed creates what the mix reads: a dataset, an events dataset, a vector index.
func seed(ctx context.Context, c *client, rows int) error {
	steps := []struct {
		method, path, ctype string
		body                []byte
	}{
		{"POST", "/v1/ingest?name=load_people", "text/csv", peopleCSV(rows)},
		{"POST", "/v1/ingest?name=load_events", "text/csv", eventsCSV(rand.New(rand.NewPCG(3, 4)), 100)},
		{"POST", "/v1/vectors/index", "application/json", jsonBody(map[string]any{"name": "load_vec", "dimension": vecDim, "distance": "cosine"})},
	}
	for _, s := range steps {
		status, err := c.do(ctx, s.method, s.path, s.ctype, s.body)
		if err != nil {
			return fmt.Errorf("seed %s: %w", s.path, err)
		}
		if status/100 != 2 {
			return fmt.Errorf("seed %s: status %d", s.path, status)
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	var items []any
	for i := 0; i < 2000; i++ {
		items = append(items, map[string]any{"id": fmt.Sprintf("s-%d", i), "vector": randomVector(r, vecDim)})
	}
	status, err := c.do(ctx, "POST", "/v1/vectors/index/load_vec/add", "application/json", jsonBody(map[string]any{"items": items}))
	if err != nil || status/100 != 2 {
		return fmt.Errorf("seed vectors: status %d %v", status, err)
	}
	return nil
}

func pick(ops []op, r *rand.Rand) *op {
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	n := r.IntN(total)
	for i := range ops {
		n -= ops[i].weight
		if n < 0 {
			return &ops[i]
		}
	}
	return &ops[len(ops)-1]
}

func expected(o *op, status int) bool {
	if status/100 == 2 {
		return true
	}
	for _, s := range o.expect {
		if s == status {
			return true
		}
	}
	return false
}
