package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/app/cli"
	"lakehouse/config"
	"lakehouse/modules/pathway"
)

func TestPathwayCompact_Offline(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pathway", "traces.jsonl")
	svc, err := pathway.Open(path, pathway.Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tr, _ := svc.Add(ctx, pathway.NewTrace{Content: json.RawMessage(`0`)})
	for i := 1; i <= 20; i++ {
		svc.Update(ctx, tr.UID, json.RawMessage(fmt.Sprint(i)), nil)
	}
	svc.Close()
	var out, errb bytes.Buffer
	code := cli.Main([]string{"--config", writeEmptyConfig(t), "--data-dir", dir, "pathway", "compact"}, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "offline") || !strings.Contains(out.String(), "1 traces") {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	svc, err = pathway.Open(path, pathway.Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	got, err := svc.Get(ctx, tr.UID)
	if err != nil || string(got.Content) != "20" || svc.ReplayStats().Lines != 1 {
		t.Fatalf("after compact: %v %+v %+v", err, got, svc.ReplayStats())
	}
}

func TestPathwayCompact_ThroughRunningServer(t *testing.T) {
	s := apptest.Start(t, func(c *config.Config) { c.Modules = []string{"pathway"} })
	var tr struct{ UID string }
	s.JSON(t, "POST", "/v1/pathway/add", map[string]any{"content": 1}, 200, &tr)
	s.JSON(t, "POST", "/v1/pathway/update", map[string]any{"uid": tr.UID, "content": 2}, 200, nil)
	t.Setenv("AUTH_TOKEN", s.Token)
	var out, errb bytes.Buffer
	code := cli.Main([]string{"--config", writeEmptyConfig(t), "--data-dir", s.DataDir, "pathway", "compact", "--server", s.URL}, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "by the server") {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	var got struct{ Content json.RawMessage }
	s.JSON(t, "GET", "/v1/pathway/get/"+tr.UID, nil, 200, &got)
	if string(got.Content) != "2" {
		t.Fatalf("content after compaction %s", got.Content)
	}
	// No log at all: a clear error, not an empty log created.
	code = cli.Main([]string{"--config", writeEmptyConfig(t), "--data-dir", t.TempDir(), "pathway", "compact"}, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "no log") {
		t.Fatalf("missing log: exit %d %s", code, errb.String())
	}
}
