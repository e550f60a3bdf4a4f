package vector_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/app/cli"
	"lakehouse/config"
)

// Every bad vector request answers 4xx naming the problem, never 500, and
// nothing it carried is stored: poison vectors (finite values whose norm or
// distances overflow float32), huge or negative k and ef, numbers beyond
// float range, deep JSON, huge dimensions and batches.
func TestHTTPBadVectorInputIs4xx(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Vector.MaxBatchItems = 100 })
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "c3", "dimension": 3}, 201, nil)
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "c2", "dimension": 2}, 201, nil)
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "l2", "dimension": 2, "distance": "l2"}, 201, nil)
	add := func(index string) string { return "/v1/vectors/index/" + index + "/add" }
	search := func(index string) string { return "/v1/vectors/index/" + index + "/search" }

	for _, c := range []struct {
		path, body, want string
		status           int
	}{
		{add("c3"), `{"items":[{"id":"ok","vector":[1,2,3]},{"id":"tiny","vector":[1e-30,1e-30,1e-30]}]}`, `"tiny"`, 400},
		{add("c2"), `{"items":[{"id":"huge","vector":[3e38,3e38]}]}`, "overflows", 400},
		{add("l2"), `{"items":[{"id":"far","vector":[3e38,-3e38]}]}`, "too large", 400},
		{add("c3"), `{"items":[{"id":"x","vector":[1e400,1,1]}]}`, "vector", 400},
		{add("c3"), `{"items":[{"id":"x","vector":[1,2]}]}`, "dimension 2", 400},
		{add("c3"), `{"items":[{"id":"x","vector":[1,2,3],"metadata":{"a":{"b":{"c":1}}}}]}`, "flat", 400},
		{add("c3"), `{"items":[{"id":"x","vector":[1,2,3],"metadata":{"a":1e400}}]}`, "metadata", 400},
		{add("c3"), `{"items":[{"id":"","vector":[1,2,3]}]}`, "id is required", 400},
		{add("c3"), `{"items":[{"id":"` + strings.Repeat("x", 1025) + `","vector":[1,2,3]}]}`, "longer than", 400},
		{add("c3"), `{"items":[` + strings.TrimSuffix(strings.Repeat(`{"id":"i","vector":[1,2,3]},`, 101), ",") + `]}`, "vector.max_batch_items", 413},
		{add("c3"), `{"items":[{"id":"x","vector":[` + strings.TrimSuffix(strings.Repeat("1,", 70000), ",") + `]}]}`, "dimension 70000", 400},
		{search("c3"), `{"vector":[1e-30,1e-30,1e-30],"k":1}`, "underflows", 400},
		{search("c2"), `{"vector":[3e38,3e38],"k":1}`, "overflows", 400},
		{search("l2"), `{"vector":[3e38,3e38],"k":1}`, "too large", 400},
		{search("c3"), `{"vector":[1,2,3],"k":-1}`, "k must be", 400},
		{search("c3"), `{"vector":[1,2,3],"k":1000000000}`, "vector.max_k", 400},
		{search("c3"), `{"vector":[1,2,3],"k":1e30}`, "k", 400},
		{search("c3"), `{"vector":[1,2,3],"ef":1000000000}`, "vector.max_ef", 400},
		{search("c3"), `{"vector":[1,2,3],"ef":-5}`, "ef must be", 400},
		{search("c3"), `{"vector":[1,2,3],"filter":{"a":1e400}}`, "filter", 400},
		{search("c3"), `{"vector":[1,2,3],"filter":{"a":{"$in":[[1]]}}}`, "$in", 400},
		{search("c3"), `{"vector":[1,2,3],"filter":` + strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000) + `}`, "", 400},
		{"/v1/vectors/index", `{"name":"big","dimension":1000000000000}`, "dimension", 400},
		{"/v1/vectors/index", `{"name":"big","dimension":4,"ef_search":1e9}`, "ef_search", 400},
	} {
		e := s.Fail(t, "POST", c.path, c.body, c.status)
		if !strings.Contains(e.Error.Message, c.want) {
			t.Errorf("POST %s %.80s: message %q lacks %q", c.path, c.body, e.Error.Message, c.want)
		}
	}
	var info struct {
		Length int `json:"length"`
	}
	for _, n := range []string{"c3", "c2", "l2"} {
		if s.JSON(t, "GET", "/v1/vectors/index/"+n, nil, 200, &info); info.Length != 0 {
			t.Fatalf("%s: a refused request stored %d items", n, info.Length)
		}
	}

	// Odd but valid ids round-trip, and delete by their escaped path.
	odd := []string{"a/b", "sp ace", "q?x#y", "percent%2F", "50%", "%41", "☃", "\u0001ctl", ".."}
	items := make([]map[string]any, len(odd))
	for i, id := range odd {
		items[i] = map[string]any{"id": id, "vector": []float64{1, float64(i), 1}}
	}
	s.JSON(t, "POST", add("c3"), map[string]any{"items": items}, 200, nil)
	var res struct {
		Results []struct {
			ID       string  `json:"id"`
			Distance float64 `json:"distance"`
		} `json:"results"`
	}
	s.JSON(t, "POST", search("c3"), map[string]any{"vector": []float64{1, 1, 1}, "k": 100, "ef": 1000}, 200, &res)
	if len(res.Results) != len(odd) {
		t.Fatalf("odd ids: %+v", res)
	}
	for _, id := range odd {
		resp, body := s.Do(t, "DELETE", "/v1/vectors/index/c3/items/"+url.PathEscape(id), nil)
		if resp.StatusCode != 204 {
			t.Errorf("delete %q: %d %s", id, resp.StatusCode, body)
		}
	}

	// The server restarts on what it acknowledged.
	s2 := s.Restart(t)
	s2.JSON(t, "GET", "/v1/vectors/index/c3", nil, 200, nil)
}

// segment encodes one WAL batch the way the vector module writes it:
// "LHVW" | version | op | seq | count | dim | records | crc32c.
func segment(seq uint64, dim int, ids []string, vecs [][]float32) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("LHVW")
	b.WriteByte(1)
	b.WriteByte(1)
	_ = binary.Write(&b, le, seq)
	_ = binary.Write(&b, le, uint32(len(ids)))
	_ = binary.Write(&b, le, uint32(dim))
	for i, id := range ids {
		_ = binary.Write(&b, le, uint32(len(id)))
		b.WriteString(id)
		b.WriteByte(0)
		_ = binary.Write(&b, le, uint32(0))
		_ = binary.Write(&b, le, vecs[i])
	}
	_ = binary.Write(&b, le, crc32.Checksum(b.Bytes(), crc32.MakeTable(crc32.Castagnoli)))
	return b.Bytes()
}

// Junk segments and a poison record written straight into storage (what
// the old validation let through, or anything with access to the data dir)
// do not brick the restart: the server starts, every good item is there,
// and /ready and lakehouse doctor report the quarantine while ready.
func TestHTTPRestartQuarantinesJunkAndPoison(t *testing.T) {
	s := apptest.Start(t)
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "v", "dimension": 3}, 201, nil)
	s.JSON(t, "POST", "/v1/vectors/index", map[string]any{"name": "w", "dimension": 3}, 201, nil)
	for _, n := range []string{"v", "w"} {
		s.JSON(t, "POST", "/v1/vectors/index/"+n+"/add", map[string]any{"items": []map[string]any{{"id": "good", "vector": []float64{1, 2, 3}}}}, 200, nil)
	}
	s.Stop(t)
	wal := filepath.Join(s.DataDir, "objects", "_vectors", "v", "wal")
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(wal, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("00000000000000000002.seg", segment(2, 3, []string{"b", "poison"}, [][]float32{{3, 2, 1}, {1e-30, 1e-30, 1e-30}}))
	write("00000000000000000003.seg", []byte("junk junk junk junk junk junk"))
	write("00000000000000000004.seg", segment(4, 3, []string{"c"}, [][]float32{{1, 0, 0}}))
	write("00000000000000000005.seg", []byte{0xff, 0xfe})

	s2 := s.Restart(t)
	var info struct {
		Length      int `json:"length"`
		Quarantined int `json:"quarantined"`
	}
	if s2.JSON(t, "GET", "/v1/vectors/index/v", nil, 200, &info); info.Length != 2 || info.Quarantined != 3 {
		t.Fatalf("v after restart: %+v", info)
	}
	info.Quarantined = 0 // omitted when zero: json leaves the old value
	if s2.JSON(t, "GET", "/v1/vectors/index/w", nil, 200, &info); info.Length != 1 || info.Quarantined != 0 {
		t.Fatalf("w after restart: %+v", info)
	}
	s2.JSON(t, "POST", "/v1/vectors/index/v/add", map[string]any{"items": []map[string]any{{"id": "d", "vector": []float64{0, 1, 0}}}}, 200, nil)
	var ready struct {
		Ready   bool `json:"ready"`
		Modules map[string]struct {
			OK       bool     `json:"ok"`
			Warnings []string `json:"warnings"`
		} `json:"modules"`
	}
	s2.JSON(t, "GET", "/ready", nil, 200, &ready)
	vm := ready.Modules["vector"]
	if !ready.Ready || !vm.OK || len(vm.Warnings) != 1 || !strings.Contains(vm.Warnings[0], `index "v": 3 object(s) quarantined`) ||
		!strings.Contains(vm.Warnings[0], "underflows") || strings.Contains(vm.Warnings[0], s2.DataDir) {
		t.Fatalf("/ready: %+v", ready)
	}
	quarantine := filepath.Join(s.DataDir, "objects", "_vectors", "v", "quarantine")
	if n := countFiles(t, quarantine); n != 6 {
		t.Fatalf("quarantine holds %d files, want 3 objects + 3 reasons", n)
	}
	s2.Stop(t)

	// lakehouse doctor shows it too, and still passes.
	cfgPath := filepath.Join(t.TempDir(), "lakehouse.toml")
	if err := os.WriteFile(cfgPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := cli.Main([]string{"doctor", "--json", "--config", cfgPath, "--data-dir", s.DataDir}, &out, &errb)
	var rep struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name     string   `json:"name"`
			OK       bool     `json:"ok"`
			Warnings []string `json:"warnings"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("doctor: %v\n%s\n%s", err, out.String(), errb.String())
	}
	found := false
	for _, c := range rep.Checks {
		if c.Name == "module vector" {
			found = c.OK && len(c.Warnings) == 1 && strings.Contains(c.Warnings[0], "quarantined")
		}
	}
	if code != 0 || !rep.OK || !found {
		t.Fatalf("doctor: exit %d %s", code, out.String())
	}
	// And the next start still has every good item, including the new one.
	s3 := s.Restart(t)
	if s3.JSON(t, "GET", "/v1/vectors/index/v", nil, 200, &info); info.Length != 3 {
		t.Fatalf("v after a second restart: %+v", info)
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
