package builtin

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// benchTexts are short staffing texts (6–14 tokens), the workload of
// indexing a candidates table or embedding search queries.
func benchTexts(n int) []string {
	roles := []string{"forklift operator", "registered nurse", "CNC machinist", "warehouse picker", "Java developer", "electrician", "welder", "dental hygienist"}
	extras := []string{"with OSHA-30 certification", "night shift, bilingual", "5+ years in Chicago", "first article inspection", "industrial wiring experience", "ICU and BLS/ACLS"}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s %s #%d", roles[i%len(roles)], extras[(i/len(roles))%len(extras)], i)
	}
	return out
}

// BenchmarkBuiltinEmbed reports the builtin encoder's throughput on short
// texts, batched (all cores through vek). Target: ≥ 300 texts/s on 2 cores.
func BenchmarkBuiltinEmbed(b *testing.B) {
	enc := encoder(b)
	texts := benchTexts(1024)
	ctx := context.Background()
	if _, err := enc.EmbedBatch(ctx, texts[:8]); err != nil { // warm up
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	n := 0
	for i := 0; i < b.N; i++ {
		for j := 0; j < len(texts); j += 64 {
			if _, err := enc.EmbedBatch(ctx, texts[j:j+64]); err != nil {
				b.Fatal(err)
			}
			n += 64
		}
	}
	rate := float64(n) / time.Since(start).Seconds()
	b.ReportMetric(rate, "texts/s")
	b.Logf("builtin use-lite-512: %.0f short texts/s (target ≥ 300, ratio %.2f×)", rate, rate/300)
}
