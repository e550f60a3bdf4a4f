package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress is the one progress line every command draws (ingest, index,
// demo seed): on a terminal a bar redrawn in place a few times a second,
// elsewhere (a log file, CI) a plain line every few seconds; both with the
// rate and an ETA.
type progress struct {
	w     io.Writer
	tty   bool
	label string
	began time.Time
	every time.Duration

	mu    sync.Mutex
	last  time.Time
	drawn bool
}

// newProgress is a progress line on w labelled label (the unit of the
// counts is given to each update).
func newProgress(w io.Writer, label string) *progress {
	p := &progress{w: w, tty: isTerminal(w), label: label, began: time.Now(), every: 5 * time.Second}
	if p.tty {
		p.every = 200 * time.Millisecond
	}
	return p
}

// update draws done of total (total ≤ 0 when unknown) at most every few
// moments; human formats a count (bytes, rows), rate is what the rate
// counts per second (nil: done), and extra is appended as it is.
func (p *progress) update(done, total int64, human func(int64) string, rate *float64, unit, extra string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < p.every && (total <= 0 || done < total) {
		return
	}
	p.last = now
	el := max(now.Sub(p.began).Seconds(), 0.001)
	r := float64(done) / el
	if rate != nil {
		r = *rate
	}
	frac := 0.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	eta := "?"
	if frac > 0.01 && frac < 1 {
		eta = (time.Duration(el/frac*(1-frac)) * time.Second).Round(time.Second).String()
	} else if frac >= 1 {
		eta = "0s"
	}
	counts := human(done)
	if total > 0 {
		counts += "/" + human(total)
	}
	line := fmt.Sprintf("%s %3.0f%% %s  %.0f %s/s  ETA %s%s", p.label, frac*100, counts, r, unit, eta, extra)
	if p.tty {
		n := int(frac * 30)
		fmt.Fprintf(p.w, "\r\033[K%s [%s%s] %s", p.label, strings.Repeat("#", n), strings.Repeat(".", 30-n),
			strings.TrimPrefix(line, p.label+" "))
	} else {
		fmt.Fprintln(p.w, line)
	}
	p.drawn = true
}

// done ends the line: a terminal's bar is cleared (the command prints its
// summary after), a log gets nothing more.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// count formats a row count.
func count(n int64) string { return fmt.Sprintf("%d", n) }
