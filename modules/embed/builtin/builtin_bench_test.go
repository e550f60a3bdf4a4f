package builtin

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"lakehouse/internal/demo"
)

// benchTexts are short staffing texts (about 10–16 tokens): the search
// queries users type, the second line of BenchmarkBuiltinEmbed.
func benchTexts(n int) []string {
	roles := []string{"forklift operator", "registered nurse", "CNC machinist", "warehouse picker", "Java developer", "electrician", "welder", "dental hygienist"}
	extras := []string{"with OSHA-30 certification", "night shift, bilingual", "5+ years in Chicago", "first article inspection", "industrial wiring experience", "ICU and BLS/ACLS"}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s %s #%d", roles[i%len(roles)], extras[(i/len(roles))%len(extras)], i)
	}
	return out
}

// demoSummaries returns the first n distinct candidate summaries of the
// demo data set (`lakehouse demo seed`), the texts the candidates index
// embeds: about 214 characters and 55 tokens each.
func demoSummaries(tb testing.TB, n int) []string {
	tb.Helper()
	tables, err := demo.Generate(0.01)
	if err != nil {
		tb.Fatal(err)
	}
	for _, t := range tables {
		if t.Name != "candidates" {
			continue
		}
		rows, err := csv.NewReader(bytes.NewReader(t.CSV)).ReadAll()
		if err != nil {
			tb.Fatal(err)
		}
		col := -1
		for i, h := range rows[0] {
			if h == "summary" {
				col = i
			}
		}
		seen := map[string]bool{}
		var out []string
		for _, r := range rows[1:] {
			if s := r[col]; !seen[s] && len(out) < n {
				seen[s] = true
				out = append(out, s)
			}
		}
		if len(out) < n {
			tb.Fatalf("demo data has %d distinct summaries, want %d", len(out), n)
		}
		return out
	}
	tb.Fatal("demo data has no candidates table")
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// modelFLOPs is the work the graph defines for one text of n tokens,
// counted from the model's shapes (a multiply-add is 2 FLOPs): the dense
// layers per token, attention's two n×n products per layer, and the
// final 512×512 tanh layer per text. Shortcuts the Go forward pass takes
// (see forward) do not lower it: it is the model's cost, so GFLOP/s
// compares with any other implementation of the same graph.
func modelFLOPs(m *model, n int) float64 {
	var perToken, attention float64
	for _, l := range m.layers {
		perToken += float64(l.in*3*l.in + l.in*l.width + l.width*l.hidden + l.hidden*l.width)
		if l.res.k != 0 {
			perToken += float64(l.in * l.width)
		}
		attention += 2 * float64(n) * float64(n) * float64(l.in)
	}
	return 2 * (perToken*float64(n) + attention + Dimension*Dimension)
}

// executedFLOPs is what forward actually runs for a text of n tokens:
// the model's FLOPs less layer 0's residual projection and QKV (read from
// the piece and position tables) and layer 1's second FFN matrix per
// token (applied once, to the mean).
func executedFLOPs(m *model, n int) float64 {
	l0, l1 := &m.layers[0], &m.layers[1]
	saved := float64(l0.in*l0.width+l0.in*3*l0.in+l1.hidden*l1.width) * float64(n)
	return modelFLOPs(m, n) - 2*saved + 2*float64(l1.hidden*l1.width)
}

// BenchmarkBuiltinEmbed reports the builtin encoder's throughput on the
// users' workload: 512 distinct demo candidate summaries (what `demo seed`
// and a candidates index embed), and, as a second line, 1,024 short
// queries; both in batches of 64. It prints texts/s wall, texts per
// CPU-second (the machine is shared, so this is the steadier figure, and
// × cores is the rate with every core idle), tokens/s and the achieved
// model GFLOP/s against the measured FMA peak of the cores. Target: ≥ 300
// summaries/s on 2 idle cores. When tools/embed-reference has its
// node_modules, the original JavaScript encoder runs on the same texts.
func BenchmarkBuiltinEmbed(b *testing.B) {
	enc := encoder(b)
	m, _ := enc.model()
	peak := peakGFLOPS()
	cores := runtime.GOMAXPROCS(0)
	fmt.Printf("builtin use-lite-512 (%s kernels), GOMAXPROCS=%d, fp32 FMA peak measured %.0f GFLOP/s per core:\n", m.kernelName(), cores, peak)
	for _, w := range []struct {
		name  string
		texts []string
	}{
		{"summaries", demoSummaries(b, 512)},
		{"queries", benchTexts(1024)},
	} {
		b.Run(w.name, func(b *testing.B) {
			benchEmbed(b, enc, m, w.name, w.texts, peak, cores)
		})
	}
}

func benchEmbed(b *testing.B, enc *Encoder, m *model, name string, texts []string, peak float64, cores int) {
	ctx := context.Background()
	if _, err := enc.EmbedBatch(ctx, texts[:8]); err != nil { // warm up
		b.Fatal(err)
	}
	tokens, chars := 0, 0
	var flops, executed float64
	for _, t := range texts {
		ids, _ := enc.Tokenize(t)
		tokens += len(ids)
		chars += len(t)
		flops += modelFLOPs(m, len(ids))
		executed += executedFLOPs(m, len(ids))
	}
	const batch = 64
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	n := 0
	for i := 0; i < b.N; i++ {
		for j := 0; j < len(texts); j += batch {
			if _, err := enc.EmbedBatch(ctx, texts[j:min(j+batch, len(texts))]); err != nil {
				b.Fatal(err)
			}
		}
		n += len(texts)
	}
	wall, cpu := time.Since(start).Seconds(), (cpuTime() - cpu0).Seconds()
	b.StopTimer()
	passes := float64(n) / float64(len(texts))
	rate, perCPU := float64(n)/wall, float64(n)/cpu
	gflopsCPU := flops * passes / cpu / 1e9
	b.ReportMetric(rate, "texts/s")
	b.ReportMetric(perCPU, "texts/cpu-s")
	b.ReportMetric(float64(tokens)*passes/wall, "tokens/s")
	b.ReportMetric(gflopsCPU, "GFLOP/cpu-s")
	fmt.Printf("  %-9s %4d texts (%.0f chars, %.1f tokens avg), batches of %d:\n", name, len(texts), float64(chars)/float64(len(texts)), float64(tokens)/float64(len(texts)), batch)
	fmt.Printf("    wall      %7.0f texts/s  %7.0f tokens/s  %5.1f GFLOP/s\n", rate, float64(tokens)*passes/wall, flops*passes/wall/1e9)
	fmt.Printf("    per CPU-s %7.0f texts    %7.0f tokens    %5.1f GFLOP/s = %.0f%% of one core's peak → %.0f texts/s with %d idle cores\n",
		perCPU, float64(tokens)*passes/cpu, gflopsCPU, 100*gflopsCPU/peak, perCPU*float64(cores), cores)
	fmt.Printf("    model GFLOP/s count the graph's FLOPs; the Go pass runs %.0f%% of them: %.1f GFLOP/s executed per CPU-s = %.0f%% of peak\n",
		100*executed/flops, executed*passes/cpu/1e9, 100*executed*passes/cpu/1e9/peak)
	if name == "summaries" {
		fmt.Printf("    target ≥ 300 summaries/s on %d idle cores: %.2f×\n", cores, perCPU*float64(cores)/300)
	}
	if js, err := jsPeer(texts); err != nil {
		fmt.Printf("    JS original (tfjs CPU): skipped (%v)\n", err)
	} else {
		b.ReportMetric(js, "js-texts/s")
		fmt.Printf("    JS original (tfjs CPU) %7.0f texts/s → Go is %.1f× faster\n", js, rate/js)
	}
}

// jsPeer runs tools/embed-reference/bench.js when its packages are
// installed (`npm install` there); no network is used.
func jsPeer(texts []string) (float64, error) {
	dir, _ := filepath.Abs("../../../tools/embed-reference")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@energetic-ai", "embeddings")); err != nil {
		return 0, fmt.Errorf("no node_modules in tools/embed-reference; run npm install there to compare")
	}
	in, _ := json.Marshal(texts)
	cmd := exec.Command("node", "bench.js")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("node bench.js: %w", err)
	}
	var r struct {
		TextsPerS float64 `json:"texts_per_s"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, err
	}
	return r.TextsPerS, nil
}
