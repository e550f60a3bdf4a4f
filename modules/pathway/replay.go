package pathway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"lakehouse/internal/jsonx"
)

// ReplayStats says what a start-up replay of the log found.
type ReplayStats struct {
	// Lines is the number of non-blank lines read.
	Lines int `json:"lines"`
	// Applied lines changed the state.
	Applied int `json:"applied"`
	// Corrupted lines were not a JSON record (torn write, bit rot); skipped.
	Corrupted int `json:"corrupted"`
	// ApplyErrors were records the state refused (update of an unknown
	// uid, duplicate add, invalid content...); skipped.
	ApplyErrors int `json:"apply_errors"`
	// TornTail is set when the file did not end with a newline.
	TornTail bool `json:"torn_tail"`
}

// maxLoggedProblems bounds the warnings one replay logs.
const maxLoggedProblems = 10

// replay reads JSONL records from r into st. Lines may be of any length
// (no bufio.Scanner token limit): a 4 MiB trace is one 4 MiB line.
func replay(r io.Reader, st *state, log *slog.Logger) (ReplayStats, error) {
	var rs ReplayStats
	br := bufio.NewReaderSize(r, 256<<10)
	lineNo, logged := 0, 0
	problem := func(msg string, err error) {
		if logged < maxLoggedProblems {
			log.Warn("pathway: replay skipped a line", "line", lineNo, "reason", msg, "err", err)
		}
		logged++
	}
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		if len(line) > 0 {
			lineNo++
			if line[len(line)-1] != '\n' {
				rs.TornTail = true
			}
			applyLine(bytes.TrimSpace(line), st, &rs, problem)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return rs, fmt.Errorf("pathway: read log: %w", err)
		}
	}
	if logged > maxLoggedProblems {
		log.Warn("pathway: more replay problems not logged", "count", logged-maxLoggedProblems)
	}
	return rs, nil
}

func applyLine(line []byte, st *state, rs *ReplayStats, problem func(string, error)) {
	if len(line) == 0 {
		return
	}
	rs.Lines++
	var rec record
	if err := json.Unmarshal(line, &rec); err != nil {
		if deep, ok := decodeDeepRecord(line); ok {
			rec = *deep
		} else {
			rs.Corrupted++
			problem("corrupted", err)
			return
		}
	}
	if _, err := st.apply(&rec); err != nil {
		rs.ApplyErrors++
		problem("apply error", err)
		return
	}
	rs.Applied++
}

// replayFile replays the log at path; a missing file is an empty store.
func replayFile(path string, st *state, log *slog.Logger) (ReplayStats, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return ReplayStats{}, nil
	}
	if err != nil {
		return ReplayStats{}, fmt.Errorf("pathway: open log for replay: %w", err)
	}
	defer f.Close()
	return replay(f, st, log)
}

// decodeDeepRecord reads a record whose content fits encoding/json's
// 10000-level limit on its own but not inside the record's two extra
// levels (written before pathway.max_json_depth existed, and
// acknowledged then): the content's bytes are cut out without a depth
// limit, the rest is decoded as usual, and the content is put back.
// ok is false for anything else that fails to decode (a torn line).
func decodeDeepRecord(line []byte) (*record, bool) {
	if jsonx.Depth(line) <= jsonx.DecoderMaxDepth {
		return nil, false
	}
	// add and revise carry the content in "trace", update at the top.
	cs, ce, inTrace := 0, 0, false
	if ts, te, ok := jsonx.Member(line, "trace"); ok {
		s, e, ok := jsonx.Member(line[ts:te], "content")
		if !ok {
			return nil, false
		}
		cs, ce, inTrace = ts+s, ts+e, true
	} else if cs, ce, ok = jsonx.Member(line, "content"); !ok {
		return nil, false
	}
	content := line[cs:ce]
	if !json.Valid(content) {
		return nil, false
	}
	rest := make([]byte, 0, len(line)-len(content)+1)
	rest = append(append(append(rest, line[:cs]...), '0'), line[ce:]...)
	var rec record
	if err := json.Unmarshal(rest, &rec); err != nil {
		return nil, false
	}
	if inTrace {
		if rec.Trace == nil {
			return nil, false
		}
		rec.Trace.Content = bytes.Clone(content)
	} else {
		rec.Content = bytes.Clone(content)
	}
	return &rec, true
}
