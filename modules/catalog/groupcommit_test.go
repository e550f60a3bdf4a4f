package catalog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"lakehouse/modules/catalog"
	"lakehouse/modules/storage"
)

// TestGroupCommitMixedRequestsEachGetTheirVersion: appends and
// non-appends of one dataset racing each other. Every Register call must
// come back with the version that holds its files (or an error), never
// with an empty manifest and no error, whatever batch another goroutine
// took its request into.
func TestGroupCommitMixedRequestsEachGetTheirVersion(t *testing.T) {
	ctx := context.Background()
	st, objs := openStore(t, t.TempDir())
	put(t, objs, "datasets/mix/seed.parquet", "seed")
	if _, _, err := st.Register(ctx, catalog.RegisterRequest{Name: "mix", Schema: schemaA,
		Files: []catalog.File{{Key: "datasets/mix/seed.parquet", Rows: 1}}}); err != nil {
		t.Fatal(err)
	}
	const n = 40
	for i := range n {
		put(t, objs, fmt.Sprintf("datasets/mix/%02d.parquet", i), fmt.Sprintf("part %d", i))
	}
	type result struct {
		i        int
		m        catalog.Manifest
		existing bool
		err      error
	}
	res := make(chan result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("datasets/mix/%02d.parquet", i)
			// Every fourth request replaces the whole dataset with its one
			// part; the rest append.
			req := catalog.RegisterRequest{Name: "mix", Schema: schemaA, Files: []catalog.File{{Key: key, Rows: 1}},
				Append: i%4 != 0, AllowSchemaChange: i%4 == 0}
			m, ex, err := st.Register(ctx, req)
			res <- result{i, m, ex, err}
		}()
	}
	wg.Wait()
	close(res)
	for r := range res {
		key := fmt.Sprintf("datasets/mix/%02d.parquet", r.i)
		if r.err != nil {
			t.Errorf("request %d: %v", r.i, r.err)
			continue
		}
		if r.m.Version == 0 || r.m.Name != "mix" {
			t.Errorf("request %d returned no version and no error: %+v existing=%v", r.i, r.m, r.existing)
			continue
		}
		if !slices.ContainsFunc(r.m.Files, func(f catalog.File) bool { return f.Key == key }) {
			t.Errorf("request %d: version %d does not hold its part %s", r.i, r.m.Version, key)
		}
		if got, err := st.GetVersion(ctx, "mix", r.m.Version); err != nil || !slices.Equal(keysOf(got), keysOf(r.m)) {
			t.Errorf("request %d: answered v%d %v, the catalog has %v (%v)", r.i, r.m.Version, keysOf(r.m), keysOf(got), err)
		}
	}
}

func keysOf(m catalog.Manifest) []string {
	out := make([]string, len(m.Files))
	for i, f := range m.Files {
		out[i] = f.Key
	}
	return out
}

// TestGroupCommitCallerReturnsAfterWatchers: a caller whose append was
// committed by another goroutine's batch returns only after the watchers
// saw that version (the query module refreshes its views there, so "a
// new version is queryable as soon as ingest answers" must hold for
// every member of a group commit, not only for the one that ran it).
func TestGroupCommitCallerReturnsAfterWatchers(t *testing.T) {
	ctx := context.Background()
	st, objs := openStore(t, t.TempDir())
	var mu sync.Mutex
	seen := 0
	st.Watch(func(c catalog.Change) {
		time.Sleep(5 * time.Millisecond) // a watcher that takes a while (views refresh)
		mu.Lock()
		seen = max(seen, c.Version)
		mu.Unlock()
	})
	const n = 24
	for i := range n {
		put(t, objs, fmt.Sprintf("datasets/w/%02d.parquet", i), fmt.Sprintf("part %d", i))
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, _, err := st.Register(ctx, catalog.RegisterRequest{Name: "w", Schema: schemaA, Append: true,
				Files: []catalog.File{{Key: fmt.Sprintf("datasets/w/%02d.parquet", i), Rows: 1}}})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			s := seen
			mu.Unlock()
			if s < m.Version {
				t.Errorf("append %d returned v%d before the watchers saw it (they saw v%d)", i, m.Version, s)
			}
		}()
	}
	wg.Wait()
	m, err := st.Get(ctx, "w")
	if err != nil || m.RowCount != n || len(m.Files) != n {
		t.Fatalf("after %d appends: %+v %v", n, m, err)
	}
}

// TestGroupCommitHTTP: concurrent appends through ingest. All land (each
// caller 201 with a version holding its part), in fewer versions than
// appends; a drifting append in the crowd fails alone with 409; two
// appends with the same idempotency key and content both succeed and
// the rows appear once.
func TestGroupCommitHTTP(t *testing.T) {
	s := startLake(t)
	ingestCSV(t, s, "name=gc&mode=append", rowsCSV(0, 0), 201)

	type request struct {
		row   int    // the one row it appends (id = row)
		query string // ingest query string
		drift bool   // an extra column
	}
	type answer struct {
		request
		code int
		data []byte
	}
	run := func(reqs []request) []answer {
		out := make([]answer, len(reqs))
		var wg sync.WaitGroup
		for i, r := range reqs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				csv := rowsCSV(r.row, r.row)
				if r.drift {
					csv = fmt.Sprintf("id,v,extra\n%d,r%d,x\n", r.row, r.row)
				}
				code, data := ingestRaw(t, s, r.query, csv)
				out[i] = answer{r, code, data}
			}()
		}
		wg.Wait()
		return out
	}
	decode := func(a answer) ingestAnswer {
		var m ingestAnswer
		if err := json.Unmarshal(a.data, &m); err != nil {
			t.Fatalf("row %d: %v: %s", a.row, err, a.data)
		}
		return m
	}

	const n = 20
	var reqs []request
	for i := 1; i <= n; i++ {
		reqs = append(reqs, request{row: i, query: "name=gc&mode=append"})
	}
	for _, a := range run(reqs) {
		if a.code != 201 {
			t.Fatalf("append %d: %d %s", a.row, a.code, a.data)
		}
		m := decode(a)
		if m.Existing == nil || *m.Existing || m.Version < 2 || m.Version > n+1 {
			t.Fatalf("append %d answer: v%d existing %v", a.row, m.Version, m.Existing)
		}
		// The version answered holds this append's row.
		got := runSQL(t, s, fmt.Sprintf(`SELECT count(*) FROM "gc@%d" WHERE id = %d`, m.Version, a.row))
		if !slices.Equal(got, []string{"1"}) {
			t.Fatalf("append %d: its version %d has %v rows of it", a.row, m.Version, got)
		}
	}
	vs := versionsOf(t, s, "gc")
	last := vs[len(vs)-1]
	if last.RowCount != n+1 || len(last.Files) != n+1 {
		t.Fatalf("after %d concurrent appends: v%d rows %d parts %d", n, last.Version, last.RowCount, len(last.Files))
	}
	if got := runSQL(t, s, `SELECT count(*), count(DISTINCT id) FROM gc`); !slices.Equal(got, []string{fmt.Sprintf("%d|%d", n+1, n+1)}) {
		t.Fatalf("rows %v", got)
	}
	t.Logf("%d concurrent appends committed as %d versions", n, last.Version-1)
	if last.Version >= n+1 {
		t.Errorf("%d concurrent appends made %d versions: none was grouped", n, last.Version-1)
	}

	// One drifting append among good ones fails alone.
	reqs = nil
	for i := 101; i <= 110; i++ {
		reqs = append(reqs, request{row: i, query: "name=gc&mode=append"})
	}
	reqs = append(reqs, request{row: 111, query: "name=gc&mode=append", drift: true})
	for _, a := range run(reqs) {
		switch {
		case a.drift:
			if a.code != 409 || !strings.Contains(string(a.data), "schema_drift") {
				t.Errorf("drifting append: %d %s", a.code, a.data)
			}
		case a.code != 201:
			t.Errorf("append %d next to a drifting one: %d %s", a.row, a.code, a.data)
		}
	}
	if got := runSQL(t, s, `SELECT count(*) FROM gc WHERE id > 100`); !slices.Equal(got, []string{"10"}) {
		t.Fatalf("rows of the good appends: %v", got)
	}
	if got := runSQL(t, s, `SELECT string_agg(column_name, ',' ORDER BY column_name) FROM (DESCRIBE gc)`); !slices.Equal(got, []string{"id,v"}) {
		t.Fatalf("columns after the drifting append: %v", got)
	}

	// The same idempotency key and content twice at once: both succeed
	// with the version that holds it, the row is there once.
	twice := request{row: 500, query: "name=gc&mode=append&idempotency_key=twice"}
	codes := map[int]int{}
	var versions []int
	for _, a := range run([]request{twice, twice}) {
		codes[a.code]++
		if a.code == 200 || a.code == 201 {
			versions = append(versions, decode(a).Version)
		}
	}
	if codes[201] != 1 || codes[200] != 1 {
		t.Fatalf("same key twice at once: statuses %v", codes)
	}
	if versions[0] != versions[1] {
		t.Fatalf("same key twice answered versions %v", versions)
	}
	if got := runSQL(t, s, `SELECT count(*) FROM gc WHERE id = 500`); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("row of the twice-sent append appears %v times", got)
	}
	// And once more later: 200, the same version, still one row.
	again := ingestCSV(t, s, twice.query, rowsCSV(500, 500), 200)
	if again.Version != versions[0] {
		t.Fatalf("replay answered v%d, want v%d", again.Version, versions[0])
	}
	if got := runSQL(t, s, `SELECT count(*) FROM gc`); !slices.Equal(got, []string{fmt.Sprint(n + 1 + 10 + 1)}) {
		t.Fatalf("total rows %v", got)
	}
}

// TestGroupCommitBadRequestFailsAlone (catalog level, where a batch
// really holds them together): appends racing with a drifting one, one
// reusing an idempotency key for other content and one naming a
// missing part. Each bad one fails with its own error; every good one
// lands.
func TestGroupCommitBadRequestFailsAlone(t *testing.T) {
	ctx := context.Background()
	st, objs := openStore(t, t.TempDir())
	put(t, objs, "datasets/b/seed.parquet", "seed")
	if _, _, err := st.Register(ctx, catalog.RegisterRequest{Name: "b", Schema: schemaA, IdempotencyKey: "k0",
		Files: []catalog.File{{Key: "datasets/b/seed.parquet", Rows: 1}}}); err != nil {
		t.Fatal(err)
	}
	other := []catalog.Column{{Name: "id", Type: "VARCHAR"}}
	for round := range 5 {
		const good = 12
		for i := range good + 2 {
			put(t, objs, fmt.Sprintf("datasets/b/r%d-%02d.parquet", round, i), fmt.Sprintf("%d %d", round, i))
		}
		type res struct {
			kind string
			m    catalog.Manifest
			err  error
		}
		out := make(chan res, good+3)
		var wg sync.WaitGroup
		reg := func(kind string, req catalog.RegisterRequest) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req.Name, req.Append = "b", true
				m, _, err := st.Register(ctx, req)
				out <- res{kind, m, err}
			}()
		}
		for i := range good {
			reg("good", catalog.RegisterRequest{Schema: schemaA,
				Files: []catalog.File{{Key: fmt.Sprintf("datasets/b/r%d-%02d.parquet", round, i), Rows: 1}}})
			if i == good/2 {
				reg("drift", catalog.RegisterRequest{Schema: other,
					Files: []catalog.File{{Key: fmt.Sprintf("datasets/b/r%d-%02d.parquet", round, good), Rows: 1}}})
				reg("conflict", catalog.RegisterRequest{Schema: schemaA, IdempotencyKey: "k0",
					Files: []catalog.File{{Key: fmt.Sprintf("datasets/b/r%d-%02d.parquet", round, good+1), Rows: 1}}})
				reg("missing", catalog.RegisterRequest{Schema: schemaA,
					Files: []catalog.File{{Key: fmt.Sprintf("datasets/b/r%d-missing.parquet", round), Rows: 1}}})
			}
		}
		wg.Wait()
		close(out)
		for r := range out {
			switch r.kind {
			case "good":
				if r.err != nil || r.m.Version == 0 {
					t.Errorf("round %d: a good append failed next to bad ones: %v", round, r.err)
				}
			case "drift":
				if !errors.Is(r.err, catalog.ErrSchemaDrift) {
					t.Errorf("round %d: drifting append: %v", round, r.err)
				}
			case "conflict":
				if !errors.Is(r.err, catalog.ErrIdempotencyConflict) {
					t.Errorf("round %d: reused key: %v", round, r.err)
				}
			case "missing":
				if !errors.Is(r.err, catalog.ErrInvalidRequest) {
					t.Errorf("round %d: missing part: %v", round, r.err)
				}
			}
		}
		m, err := st.Get(ctx, "b")
		if err != nil || m.RowCount != int64(1+good*(round+1)) || m.SchemaFingerprint != catalog.Fingerprint(schemaA) {
			t.Fatalf("round %d: %d rows (%v), want %d", round, m.RowCount, err, 1+good*(round+1))
		}
	}
}

// gatedStore is the local store with one key whose Stat waits for a
// gate: a commit that checks that file holds the writer lock until the
// test opens the gate, so the requests sent meanwhile queue up and are
// committed as one batch.
type gatedStore struct {
	storage.Store
	key  string
	gate chan struct{}
}

func (g *gatedStore) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if key == g.key {
		<-g.gate
	}
	return g.Store.Stat(ctx, key)
}

// TestGroupCommitReplayOfExpiredKeyInBatch: a replay whose idempotency
// key's version has expired is answered with the latest version; when it
// is batched behind a new append, that is the version the batch commits,
// with its number (not the unnumbered version being built).
func TestGroupCommitReplayOfExpiredKeyInBatch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	local, err := storage.OpenLocal(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	objs := &gatedStore{Store: local, key: "datasets/e/slow.parquet", gate: make(chan struct{})}
	st, err := catalog.Open(ctx, filepath.Join(dir, "meta.duckdb"), objs, nil,
		catalog.WithRetention(catalog.RetentionPolicy{Default: catalog.Retention{KeepVersions: 2}}))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, k := range []string{"keyed", "two", "three", "slow", "new"} {
		put(t, local, "datasets/e/"+k+".parquet", k)
	}
	reg := func(key, idem string) (catalog.Manifest, bool, error) {
		return st.Register(ctx, catalog.RegisterRequest{Name: "e", Schema: schemaA, Append: true, IdempotencyKey: idem,
			Files: []catalog.File{{Key: "datasets/e/" + key + ".parquet", Rows: 1}}})
	}
	for _, k := range []string{"keyed", "two", "three"} {
		idem := ""
		if k == "keyed" {
			idem = "K"
		}
		if _, _, err := reg(k, idem); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.GetVersion(ctx, "e", 1); !errors.Is(err, catalog.ErrExpired) {
		t.Fatalf("v1 should have expired: %v", err)
	}
	type res struct {
		m        catalog.Manifest
		existing bool
		err      error
	}
	slow, fresh, replay := make(chan res, 1), make(chan res, 1), make(chan res, 1)
	go func() { m, ex, err := reg("slow", ""); slow <- res{m, ex, err} }()
	time.Sleep(100 * time.Millisecond) // the slow append holds the writer lock
	go func() { m, ex, err := reg("new", ""); fresh <- res{m, ex, err} }()
	time.Sleep(50 * time.Millisecond)
	go func() { m, ex, err := reg("keyed", "K"); replay <- res{m, ex, err} }()
	time.Sleep(50 * time.Millisecond)
	close(objs.gate)
	s, f, r := <-slow, <-fresh, <-replay
	if s.err != nil || f.err != nil || r.err != nil {
		t.Fatalf("slow %v, new %v, replay %v", s.err, f.err, r.err)
	}
	if !r.existing {
		t.Fatalf("replay of key K was not recognised: %+v", r.m)
	}
	if r.m.Version == 0 || r.m.Version < f.m.Version {
		t.Fatalf("replay answered version %d (the new append is v%d)", r.m.Version, f.m.Version)
	}
	if m, _ := st.Get(ctx, "e"); m.RowCount != 5 {
		t.Fatalf("rows %d, want 5 (the replay must add none)", m.RowCount)
	}
}
