package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// convert runs the conversion passes: a pass whose values all fit the
// kinds produces the parts; a pass where some value broke its column's
// kind yields the widened kinds for the next pass.
func (in *Ingester) convert(ctx context.Context, r io.ReaderAt, pl *ingestPlan, dir string, prog *Progress) ([]partResult, []bool, Stats, error) {
	var stats Stats
	splitStart := time.Now()
	// At least one span per worker once the input is big enough to be
	// worth splitting, so every core converts.
	limit := in.opt.PartSize
	if pl.partSize > 0 {
		limit = pl.partSize
	}
	partSize := min(limit, max((pl.size-pl.dataStart)/int64(pl.workers)+1, min(limit, 8<<20)))
	spans, err := splitSpans(r, pl.dataStart, pl.size, pl.dataLine, partSize, pl.quote, pl.workers)
	if err != nil {
		return nil, nil, stats, err
	}
	stats.SplitMS = msSince(splitStart)
	convStart := time.Now()
	original := slices.Clone(pl.kinds)
	for pass := 1; pass <= 4; pass++ {
		stats.Passes = pass
		if prog != nil {
			prog.bytes.Store(0)
			prog.rows.Store(0)
		}
		env := &convertEnv{r: r, delim: pl.delim, quote: pl.quote, names: pl.names, kinds: pl.kinds, colStyles: pl.columnStyles(),
			styles: pl.styles, infer: pl.infer, rgRows: in.opt.RowGroupRows, progress: prog, mem: in.mem, avgBytes: pl.avgBytes, noDict: pl.noDict, maxRec: in.opt.MaxRecordBytes}
		results := runPass(ctx, env, spans, dir, pass, pl.workers)
		// The earliest error in file order wins: spans are in order.
		for _, res := range results {
			if res.err != nil {
				return nil, nil, stats, res.err
			}
		}
		var widened []colInfer
		for _, res := range results {
			if res.widen == nil {
				continue
			}
			if widened == nil {
				widened = slices.Clone(pl.infer)
			}
			for i, c := range res.widen {
				widened[i].merge(c)
			}
		}
		if widened == nil {
			nulls := make([]bool, len(pl.names))
			for _, res := range results {
				for i, n := range res.nulls {
					nulls[i] = nulls[i] || n
				}
			}
			for i := range pl.kinds {
				if pl.kinds[i] != original[i] {
					stats.Widened = append(stats.Widened, Widen{Column: pl.names[i], From: original[i].final().duckType(), To: pl.kinds[i].final().duckType()})
				}
			}
			var parts []partResult
			var rows int64
			for _, res := range results {
				if res.rows > 0 {
					parts = append(parts, res)
				} else {
					_ = os.Remove(res.path)
				}
				rows += res.rows
			}
			stats.Parts, stats.Rows = len(parts), rows
			stats.ConvertMS = msSince(convStart)
			return parts, nulls, stats, nil
		}
		for _, res := range results {
			_ = os.Remove(res.path)
		}
		in.log.Info("ingest: a value broke a sampled column type; widening and converting again", "pass", pass)
		pl.kinds = slices.Clone(pl.kinds) // original keeps the sampled kinds
		pl.infer = widened
		for i := range pl.names {
			pl.settle(i)
		}
	}
	return nil, nil, stats, errors.New("ingest: column types did not settle after 4 passes")
}

// runPass converts every span on `workers` goroutines. A span that fails
// cancels the spans after it (their errors could only come later in the
// file); spans before it finish, so the earliest error is the one kept.
func runPass(ctx context.Context, env *convertEnv, spans []span, dir string, pass, workers int) []partResult {
	results := make([]partResult, len(spans))
	ctxs := make([]context.Context, len(spans))
	cancels := make([]context.CancelFunc, len(spans))
	for i := range spans {
		ctxs[i], cancels[i] = context.WithCancel(ctx)
	}
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	jobs := make(chan int, len(spans))
	for i := range spans {
		jobs <- i
	}
	close(jobs)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, len(spans)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := ctxs[i].Err(); err != nil {
					results[i] = partResult{index: i, err: err}
					continue
				}
				job := partJob{index: i, span: spans[i], path: filepath.Join(dir, fmt.Sprintf("p%d-%05d.parquet", pass, i))}
				res := convertSpan(ctxs[i], env, job)
				results[i] = res
				if res.err != nil {
					for j := i + 1; j < len(spans); j++ {
						cancels[j]()
					}
				}
			}
		}()
	}
	wg.Wait()
	return results
}
