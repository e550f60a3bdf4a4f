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
	delim     byte
	names     []string
	kinds     []kind
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

func (in *Ingester) plan(r io.ReaderAt, size int64, req Request, prev *catalog.Manifest) (*ingestPlan, error) {
	start := int64(0)
	if hasBOM(r, size) {
		start = 3
	}
	if size-start == 0 {
		return nil, &CSVError{Line: 1, Column: 1, Msg: "empty file (a header line is required)"}
	}
	pl := &ingestPlan{delim: req.Delimiter, size: size, workers: in.opt.Workers}
	if pl.delim == 0 {
		pl.delim = sniffDelimiter(r, start, size)
	}
	// The header is bounded by the column cap (names are short), so a
	// file without newlines fails after a few MiB, not max_record_bytes.
	p := newParser(r, start, size, pl.delim, 1, 1<<20).limit(min(in.opt.MaxRecordBytes, max(1<<20, in.opt.MaxColumns*(maxColumnName+3))))
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
			if pl.kinds[i] == kString {
				continue
			}
			if !fits(pl.kinds[i], v) {
				pl.kinds[i] = join(pl.kinds[i], classify(v))
			}
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
					pl.kinds[i] = ek
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
