package demo_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/internal/demo"
)

func TestGenerateIsDeterministicWithKeyColumns(t *testing.T) {
	a, err := demo.Generate(0.01)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := demo.Generate(0.01)
	want := map[string][]string{
		"candidates": {"candidate_id", "city", "role", "skills", "certifications", "years", "hourly_rate", "reliability", "availability", "summary"},
		"clients":    {"client_id"},
		"job_orders": {"job_order_id", "client_id"},
		"placements": {"candidate_id", "client_id", "job_order_id"},
		"timesheets": {"candidate_id"},
		"call_log":   {"candidate_id"},
		"email_log":  {"candidate_id"},
	}
	if len(a) != len(want) {
		t.Fatalf("%d tables, want %d", len(a), len(want))
	}
	for i, tb := range a {
		if !bytes.Equal(tb.CSV, b[i].CSV) {
			t.Errorf("%s: two runs at the same scale differ", tb.Name)
		}
		header, err := csv.NewReader(bytes.NewReader(tb.CSV)).Read()
		if err != nil {
			t.Fatalf("%s: %v", tb.Name, err)
		}
		for _, col := range want[tb.Name] {
			if !slices.Contains(header, col) {
				t.Errorf("%s: no column %q in %v", tb.Name, col, header)
			}
		}
		if tb.Rows == 0 {
			t.Errorf("%s: no rows", tb.Name)
		}
	}
	if a[0].Name != "candidates" || a[0].Rows != 1000 || !bytes.Contains(a[0].CSV, []byte("\nCAND-000001,")) {
		t.Errorf("candidates at 0.01: %d rows, first id present: %v", a[0].Rows, bytes.Contains(a[0].CSV, []byte("\nCAND-000001,")))
	}
	if _, err := demo.Generate(0); err == nil {
		t.Error("scale 0 accepted")
	}
}

type sqlAnswer struct {
	Columns []struct{ Name string } `json:"columns"`
	Rows    [][]any                 `json:"rows"`
}

func query(t *testing.T, s *apptest.Server, sql string, params ...any) sqlAnswer {
	t.Helper()
	var out sqlAnswer
	s.JSON(t, "POST", "/v1/sql", map[string]any{"sql": sql, "params": params}, 200, &out)
	return out
}

func scalar(t *testing.T, s *apptest.Server, sql string) float64 {
	t.Helper()
	r := query(t, s, sql)
	if len(r.Rows) != 1 || len(r.Rows[0]) != 1 {
		t.Fatalf("%s: %v", sql, r.Rows)
	}
	v, ok := r.Rows[0][0].(float64)
	if !ok {
		t.Fatalf("%s: %T %v", sql, r.Rows[0][0], r.Rows[0][0])
	}
	return v
}

type hit struct {
	ID       string         `json:"id"`
	Score    float64        `json:"score"`
	Metadata map[string]any `json:"metadata"`
}

func search(t *testing.T, s *apptest.Server, text string, k int) []hit {
	t.Helper()
	var out struct{ Results []hit }
	s.JSON(t, "POST", "/v1/vectors/index/"+demo.IndexName+"/search", map[string]any{"text": text, "k": k}, 200, &out)
	return out.Results
}

// summaries returns the summary of each hit, by SQL.
func summaries(t *testing.T, s *apptest.Server, hits []hit) map[string]string {
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = "'" + h.ID + "'"
	}
	r := query(t, s, "SELECT candidate_id, summary FROM candidates WHERE candidate_id IN ("+strings.Join(ids, ",")+")")
	out := map[string]string{}
	for _, row := range r.Rows {
		out[row[0].(string)] = strings.ToLower(row[1].(string))
	}
	return out
}

func TestSeedAnswersTheCanonicalQuestions(t *testing.T) {
	s := apptest.Start(t)
	var log bytes.Buffer
	rep, err := demo.Seed(context.Background(), demo.Client{URL: s.URL, Token: s.Token}, demo.Options{Scale: 0.01, Log: &log})
	if err != nil {
		t.Fatalf("seed: %v\n%s", err, log.String())
	}
	t.Logf("seed:\n%s", log.String())
	if !rep.Changed || len(rep.Tables) != 7 || rep.Index.Embedded != 1000 {
		t.Fatalf("report = %+v", rep)
	}

	// Every foreign key joins.
	for _, fk := range []struct{ child, col, parent string }{
		{"placements", "candidate_id", "candidates"}, {"placements", "job_order_id", "job_orders"},
		{"placements", "client_id", "clients"}, {"job_orders", "client_id", "clients"},
		{"timesheets", "candidate_id", "candidates"}, {"call_log", "candidate_id", "candidates"},
		{"email_log", "candidate_id", "candidates"},
	} {
		orphans := scalar(t, s, fmt.Sprintf("SELECT COUNT(*) FROM %s x WHERE x.%s NOT IN (SELECT %s FROM %s)", fk.child, fk.col, fk.col, fk.parent))
		if orphans != 0 {
			t.Errorf("%s.%s: %v rows do not join %s", fk.child, fk.col, orphans, fk.parent)
		}
	}

	// The SQL question has answers, and they are right.
	ans := query(t, s, demo.CanonicalSQL, demo.CanonicalParams...)
	if len(ans.Rows) == 0 {
		t.Fatal("no Java developer in Chicago called 5+ times and never placed")
	}
	for _, row := range ans.Rows {
		id := row[0].(string)
		if n := scalar(t, s, "SELECT COUNT(*) FROM placements WHERE candidate_id = '"+id+"'"); n != 0 {
			t.Errorf("%s has %v placements", id, n)
		}
		if n := scalar(t, s, "SELECT COUNT(*) FROM call_log WHERE candidate_id = '"+id+"'"); n < 5 {
			t.Errorf("%s called %v times", id, n)
		}
	}
	t.Logf("canonical SQL: %d candidates", len(ans.Rows))

	// The searches find what they ask for.
	for _, q := range []struct {
		text   string
		role   string
		phrase []string
	}{
		{"forklift driver OSHA-30", "Forklift Driver", []string{"osha-30"}},
		{"electrician with industrial wiring", "Electrician", []string{"industrial wiring"}},
		{"CNC operator with first article", "CNC Operator", []string{"first article"}},
		{"warehouse picker night shift bilingual", "Warehouse Picker", []string{"night", "bilingual"}},
	} {
		hits := search(t, s, q.text, 10)
		sums := summaries(t, s, hits)
		roleOK, phraseOK := 0, 0
		for _, h := range hits {
			if h.Metadata["role"] == q.role {
				roleOK++
			}
			all := true
			for _, p := range q.phrase {
				all = all && strings.Contains(sums[h.ID], p)
			}
			if all {
				phraseOK++
			}
		}
		t.Logf("%q: top score %.3f, %d/10 %s, %d/10 with %v", q.text, hits[0].Score, roleOK, q.role, phraseOK, q.phrase)
		if roleOK < 8 || phraseOK < 3 || hits[0].Score < 0.55 {
			t.Errorf("%q: only %d/10 are %s and %d/10 mention %v", q.text, roleOK, q.role, phraseOK, q.phrase)
		}
	}
	// The negative control: nothing is about dentistry, and nothing scores
	// like a real match (the workbench marks hits under 0.55 as weak).
	dental := search(t, s, "dental hygienist", 10)
	strong := 0
	for _, h := range dental {
		if h.Score >= 0.55 {
			strong++
		}
		if strings.Contains(strings.ToLower(fmt.Sprint(h.Metadata["role"])), "dental") {
			t.Errorf("negative control found %s: %v", h.ID, h.Metadata)
		}
	}
	t.Logf("dental hygienist: top score %.3f (%v)", dental[0].Score, dental[0].Metadata["role"])
	if strong > 2 {
		t.Errorf("dental hygienist: %d of 10 hits score >= 0.55", strong)
	}

	// A re-run changes nothing.
	log.Reset()
	rep, err = demo.Seed(context.Background(), demo.Client{URL: s.URL, Token: s.Token}, demo.Options{Scale: 0.01, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changed || rep.Index.Embedded != 0 {
		t.Errorf("re-run changed something: %+v\n%s", rep, log.String())
	}
}

func TestSeedRefusesForeignDataset(t *testing.T) {
	s := apptest.Start(t)
	if resp, body := s.Do(t, "POST", "/v1/ingest?name=clients", "client_id,name\n1,mine\n"); resp.StatusCode != 201 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}
	_, err := demo.Seed(context.Background(), demo.Client{URL: s.URL, Token: s.Token}, demo.Options{Scale: 0.002})
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("err = %v", err)
	}
	if n := scalar(t, s, "SELECT COUNT(*) FROM clients"); n != 1 {
		t.Errorf("clients has %v rows after the refused seed", n)
	}
}
