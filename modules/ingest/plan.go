package ingest

import (
	"fmt"
	"io"

	"lakehouse/modules/catalog"
)

// maxColumnName caps one column name in bytes (a header cell).
const maxColumnName = 1024

// sampleDistinctBytes bounds the distinct values the sample keeps to
// decide dictionary encoding.
const sampleDistinctBytes = 64 << 20

// ingestPlan is what the header and the sample decided.
type ingestPlan struct {
	// partSize is the input bytes a part holds at most (smaller for a
	// dataset with a declared key, see Ingester.partSize).
	partSize int64
	delim    byte
	quote    byte // 0: no quoting
	names    []string
	kinds    []kind
	// styles are the date styles columns are judged under; infer holds
	// what the values seen so far say about each column (the sample, then
	// the values that broke a pass); colStyle is each DATE / TIMESTAMP
	// column's index into styles (-1 otherwise), ambiguous whether that
	// column's values all read month-first and day-first; floor is the
	// kind a column must keep (append: the existing type); pref is the
	// order ('m' or 'd') an ambiguous column takes, decidedBy the column
	// that decided it ("" = the m/d/Y default).
	styles    []*dateStyle
	infer     []colInfer
	colStyle  []int
	ambiguous []bool
	floor     []kind
	pref      byte
	decidedBy string
	dataStart int64
	dataLine  int64
	size      int64
	prev      *catalog.Manifest
	workers   int
	avgBytes  []float64
	noDict    []bool
}

func (k kind) final() kind {
	if k == kNull {
		return kString
	}
	return k
}

func (in *Ingester) plan(r io.ReaderAt, size int64, req Request, opts reqOptions, prev *catalog.Manifest) (*ingestPlan, error) {
	start := int64(0)
	if hasBOM(r, size) {
		start = 3
	}
	if size-start == 0 {
		return nil, &CSVError{Line: 1, Column: 1, Msg: "empty file (a header line is required)"}
	}
	pl := &ingestPlan{delim: req.Delimiter, quote: opts.quote, size: size, workers: in.opt.Workers, styles: opts.styles}
	if pl.delim == 0 || !opts.quoteGiven {
		pl.delim, pl.quote = sniffDialect(r, start, size, req.Delimiter, opts.quote, opts.quoteGiven)
	}
	// The header is bounded by the column cap (names are short), so a
	// file without newlines fails after a few MiB, not max_record_bytes.
	p := newParser(r, start, size, pl.delim, 1, 1<<20).withQuote(pl.quote).limit(min(in.opt.MaxRecordBytes, max(1<<20, in.opt.MaxColumns*(maxColumnName+3))))
	fs, _, err := p.next()
	if err == io.EOF {
		return nil, &CSVError{Line: 1, Column: 1, Msg: "empty file (a header line is required)"}
	}
	if err != nil {
		return nil, err
	}
	if len(fs) > in.opt.MaxColumns {
		return nil, &CSVError{Line: 1, Column: in.opt.MaxColumns + 1,
			Msg: fmt.Sprintf("the header has %d columns; at most %d are allowed (ingest.max_columns)", len(fs), in.opt.MaxColumns)}
	}
	if pl.names, err = headerNames(p, fs); err != nil {
		return nil, err
	}
	p.limit(in.opt.MaxRecordBytes)
	pl.dataStart = p.off - int64(p.n-p.pos)
	pl.dataLine = p.line
	ncols := len(pl.names)
	pl.kinds = make([]kind, ncols)
	pl.infer = make([]colInfer, ncols)
	pl.colStyle = make([]int, ncols)
	pl.ambiguous = make([]bool, ncols)
	pl.floor = make([]kind, ncols)
	sizes := make([]int64, ncols)
	distinct := make([]map[string]struct{}, ncols)
	nonNull := make([]int, ncols)
	// considered counts the values offered to distinct; the sample's
	// distinct values are bounded in bytes (sampleDistinctBytes), so a
	// wide sample of long values cannot hold gigabytes.
	considered := make([]int, ncols)
	distinctBytes := 0
	for i := range distinct {
		distinct[i] = map[string]struct{}{}
	}
	rows := 0
	for rows < in.opt.SampleRows {
		fs, line, err := p.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, withColumnName(err, pl.names)
		}
		if len(fs) != ncols {
			return nil, raggedError(line, len(fs), pl.names)
		}
		for i, f := range fs {
			if f.end == f.start {
				continue
			}
			v := p.value(f)
			sizes[i] += int64(len(v))
			nonNull[i]++
			if len(distinct[i]) < 1<<15 && distinctBytes < sampleDistinctBytes {
				considered[i]++
				if _, seen := distinct[i][string(v)]; !seen {
					distinct[i][string(v)] = struct{}{}
					distinctBytes += len(v)
				}
			}
			pl.infer[i].observe(v, pl.styles)
		}
		rows++
	}
	if rows == 0 {
		return nil, &CSVError{Line: p.line, Column: 1, Msg: "no data rows (the file has only a header)"}
	}
	pl.avgBytes = make([]float64, ncols)
	pl.noDict = make([]bool, ncols)
	for i := range sizes {
		pl.avgBytes[i] = float64(sizes[i]) / float64(rows)
		// Mostly distinct values (ids, e-mails, free text): PLAIN.
		pl.noDict[i] = considered[i] >= 64 && len(distinct[i]) > considered[i]/2
	}
	pl.decideOrder()
	for i, n := range pl.names {
		if req.textColumns[n] {
			pl.floor[i] = kString // text cells of a workbook stay text
		}
		pl.settle(i)
	}
	pl.prev = prev
	if pl.prev != nil {
		// Start from the existing types where the sample fits them (a
		// DOUBLE column keeps taking integers), so only a real change of
		// shape is drift.
		sampled := make([]catalog.Column, ncols)
		for i, n := range pl.names {
			sampled[i] = catalog.Column{Name: n, Type: pl.kinds[i].final().duckType()}
		}
		if len(pl.prev.Schema) == ncols {
			same := true
			for i, c := range pl.prev.Schema {
				if c.Name != pl.names[i] {
					same = false
					break
				}
				if ek, ok := kindOf(c.Type); ok && join(ek, pl.kinds[i]) == ek {
					pl.floor[i] = ek
					pl.settle(i)
					sampled[i].Type = c.Type
				}
			}
			if !same {
				return nil, catalog.Diff(req.Dataset, pl.prev.Schema, sampled)
			}
		}
		if err := catalog.CheckDrift(req.Dataset, pl.prev, sampled); err != nil {
			return nil, err
		}
	}
	return pl, nil
}

// decideOrder sets the order an ambiguous column takes: day-first when
// some column's values decided day-first (a day above 12) and none
// decided month-first, else month-first (the common m/d/Y default).
func (pl *ingestPlan) decideOrder() {
	pl.pref = 'm'
	var byM, byD string
	for i, c := range pl.infer {
		if c.k != kDate {
			continue
		}
		m, d := false, false
		for s, st := range pl.styles {
			if sk := c.sk[s]; sk == kDate || sk == kTimestamp {
				m = m || st.order == 'm'
				d = d || st.order == 'd'
			}
		}
		switch {
		case m && !d && byM == "":
			byM = pl.names[i]
		case d && !m && byD == "":
			byD = pl.names[i]
		}
	}
	if byD != "" && byM == "" {
		pl.pref, pl.decidedBy = 'd', byD
	} else if byM != "" {
		pl.decidedBy = byM
	}
}

// settle resolves column i's kind and date style from what its values
// said, and narrows a decided date style to the one chosen (a later value
// in another style widens the column instead of being read differently).
func (pl *ingestPlan) settle(i int) {
	k, s, amb := pl.infer[i].resolve(pl.styles, pl.pref, pl.floor[i])
	pl.kinds[i], pl.colStyle[i], pl.ambiguous[i] = k, s, amb
	if s >= 0 && pl.infer[i].k == kDate {
		pl.infer[i].restrict(s)
	}
}

// columnStyles is each column's date style for the converter (nil: ISO
// or not a date).
func (pl *ingestPlan) columnStyles() []*dateStyle {
	out := make([]*dateStyle, len(pl.names))
	for i, s := range pl.colStyle {
		if s >= 0 {
			out[i] = pl.styles[s]
		}
	}
	return out
}

// dateReport describes the DATE and TIMESTAMP columns' layouts, with a
// note per ambiguous column.
func (pl *ingestPlan) dateReport() ([]DateFormat, []string) {
	var out []DateFormat
	var notes []string
	for i, k := range pl.kinds {
		if pl.colStyle[i] < 0 || (k != kDate && k != kTimestamp) {
			continue
		}
		st := pl.styles[pl.colStyle[i]]
		out = append(out, DateFormat{Column: pl.names[i], Type: k.duckType(), Format: st.layoutFor(k), Detected: st.detected, Ambiguous: pl.ambiguous[i]})
		if pl.ambiguous[i] {
			other := "%d/%m/%Y"
			if st.order == 'd' {
				other = "%m/%d/%Y"
			}
			why := "month first, the default"
			if pl.decidedBy != "" {
				why = fmt.Sprintf("like column %q, whose values decide it", pl.decidedBy)
			}
			notes = append(notes, fmt.Sprintf("column %q: every sampled value reads both as %s and as %s; read as %s (%s). Say dateformat=%s if that is wrong",
				pl.names[i], st.date.src, other, st.date.src, why, other))
		}
	}
	return out, notes
}
