package indexer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"lakehouse/internal/fsx"
)

// pipelineState remembers, per index, the hash of each row's indexed text
// and metadata, so a re-run embeds only new or changed rows. It lives in
// <data_dir>/embed/pipelines/<index>.json, written atomically. It is a
// cache of work done: losing it only costs a full re-embed.
type pipelineState struct {
	Dataset string            `json:"dataset"`
	Model   string            `json:"model"`
	Rows    map[string]string `json:"rows"`
	// Version is the dataset version the index holds, and Request the
	// run that built it: a following index (Request.Follow) applies the
	// changes after Version with the same columns.
	Version int                 `json:"version,omitempty"`
	Request *FromDatasetRequest `json:"request,omitempty"`
}

func newPipelineState(dataset, model string) *pipelineState {
	return &pipelineState{Dataset: dataset, Model: model, Rows: map[string]string{}}
}

func (h *handler) stateDir() string {
	return filepath.Join(h.dataDir, "embed", "pipelines")
}

func statePath(dir, index string) (string, error) {
	// Index names are validated by the vector module; refuse anything that
	// could leave the directory all the same.
	if index == "" || strings.ContainsAny(index, `/\`) || index == "." || index == ".." || strings.ContainsRune(index, 0) {
		return "", fmt.Errorf("embed: invalid index name %q", index)
	}
	return filepath.Join(dir, index+".json"), nil
}

func loadPipelineState(dir, index string) (*pipelineState, error) {
	p, err := statePath(dir, index)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return newPipelineState("", ""), nil
	}
	if err != nil {
		return nil, fmt.Errorf("embed: read pipeline state: %w", err)
	}
	var st pipelineState
	if err := json.Unmarshal(b, &st); err != nil || st.Rows == nil {
		// A damaged state only means re-embedding everything once.
		return newPipelineState("", ""), nil
	}
	return &st, nil
}

func (s *pipelineState) save(dir, index string) error {
	p, err := statePath(dir, index)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("embed: pipeline state dir: %w", err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := fsx.WriteFileAtomic(p, b); err != nil {
		return fmt.Errorf("embed: pipeline state: %w", err)
	}
	return nil
}

// RowForgetter drops rows from an index's pipeline state, for erasure:
// the state lists every indexed row by id, and an erased person's id
// must not stay in it (nor would a rerun re-embed a row the state still
// names). The indexer provides it.
type RowForgetter interface {
	ForgetRows(index string, ids []string) error
}

// ForgetRows implements RowForgetter; it waits for a run on the index to
// end (one run or change at a time).
func (h *handler) ForgetRows(index string, ids []string) error {
	for !h.runs.acquire(index) {
		time.Sleep(50 * time.Millisecond)
	}
	defer h.runs.release(index)
	dir := h.stateDir()
	p, err := statePath(dir, index)
	if err != nil {
		return err
	}
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	st, err := loadPipelineState(dir, index)
	if err != nil {
		return err
	}
	for _, id := range ids {
		delete(st.Rows, id)
	}
	return st.save(dir, index)
}
