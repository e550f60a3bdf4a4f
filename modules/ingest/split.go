package ingest

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// span is a byte range of the input holding whole records; line is the
// physical line its first record starts on.
type span struct {
	start, end int64
	line       int64
}

const scanBlock = 8 << 20

// blockCount is the number of quote and newline bytes in one block.
type blockCount struct{ quotes, newlines int64 }

// countBlocks counts quotes and newlines in [from, to) block by block, on
// `workers` goroutines (bytes.Count is vectorised, so this runs at memory
// speed). Quote parity tells whether an offset is inside a quoted field.
// quote 0 means the dialect has no quoting (nothing is counted).
func countBlocks(r io.ReaderAt, from, to int64, quote byte, workers int) ([]blockCount, error) {
	qb := []byte{quote}
	n := int((to - from + scanBlock - 1) / scanBlock)
	counts := make([]blockCount, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	for w := 0; w < max(workers, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, scanBlock)
			for i := range next {
				off := from + int64(i)*scanBlock
				sz := min(int64(scanBlock), to-off)
				if _, err := r.ReadAt(buf[:sz], off); err != nil && err != io.EOF {
					mu.Lock()
					firstErr = fmt.Errorf("ingest: scan input: %w", err)
					mu.Unlock()
					return
				}
				var q int64
				if quote != 0 {
					q = int64(bytes.Count(buf[:sz], qb))
				}
				counts[i] = blockCount{q, int64(bytes.Count(buf[:sz], nlByte))}
			}
		}()
	}
	wg.Wait()
	return counts, firstErr
}

// splitSpans cuts [from, to) into spans of about partSize bytes that start
// and end at record boundaries (a newline outside quotes), so each can be
// parsed on its own. firstLine is the line the data starts on; quote is
// the dialect's quote character (0: none).
func splitSpans(r io.ReaderAt, from, to int64, firstLine int64, partSize int64, quote byte, workers int) ([]span, error) {
	if to-from <= partSize+partSize/4 {
		return []span{{from, to, firstLine}}, nil
	}
	counts, err := countBlocks(r, from, to, quote, workers)
	if err != nil {
		return nil, err
	}
	spans := []span{}
	cur := span{start: from, line: firstLine}
	var win []byte
	for target := from + partSize; target < to-partSize/4; {
		if target <= cur.start {
			target = cur.start + partSize
			continue
		}
		// Quote parity and line number at target from the block counts.
		bi := int((target - from) / scanBlock)
		blockStart := from + int64(bi)*scanBlock
		var quotes, lines int64
		for i := 0; i < bi; i++ {
			quotes += counts[i].quotes
			lines += counts[i].newlines
		}
		head := make([]byte, target-blockStart)
		if _, err := r.ReadAt(head, blockStart); err != nil && err != io.EOF {
			return nil, fmt.Errorf("ingest: scan input: %w", err)
		}
		if quote != 0 {
			quotes += int64(bytes.Count(head, []byte{quote}))
		}
		lines += int64(bytes.Count(head, nlByte))
		inQuote := quotes%2 == 1
		// Walk forward to the first newline outside quotes.
		boundary := int64(-1)
		for off := target; off < to && boundary < 0; {
			sz := min(int64(1<<20), to-off)
			if int64(cap(win)) < sz {
				win = make([]byte, sz)
			}
			w := win[:sz]
			if _, err := r.ReadAt(w, off); err != nil && err != io.EOF {
				return nil, fmt.Errorf("ingest: scan input: %w", err)
			}
			for i, c := range w {
				if c == quote && quote != 0 {
					inQuote = !inQuote
				} else if c == '\n' {
					lines++
					if !inQuote {
						boundary = off + int64(i) + 1
						break
					}
				}
			}
			off += sz
		}
		if boundary < 0 || boundary >= to {
			break
		}
		cur.end = boundary
		spans = append(spans, cur)
		cur = span{start: boundary, line: firstLine + lines}
		target = boundary + partSize
	}
	cur.end = to
	spans = append(spans, cur)
	return spans, nil
}
