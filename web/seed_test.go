package web_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"lakehouse/app/apptest"
	"lakehouse/config"
	"lakehouse/internal/demo"
)

// The demo at scale 0.01 takes about a minute to seed (the builtin
// encoder embeds a thousand summaries), and every browser test but
// TestWorkbench (which times the seed itself) only needs it there. So it
// is seeded once per test process into a template data dir, and each
// test's server starts on a copy: the tests stay isolated (a test that
// saves a query or ingests changes only its copy) and the seed is paid
// once.
var seedTemplate struct {
	once sync.Once
	dir  string
	err  error
}

// seededDataDir returns a fresh copy of the seeded template data dir.
func seededDataDir(t *testing.T) string {
	t.Helper()
	seedTemplate.once.Do(func() {
		dir, err := os.MkdirTemp("", "lakehouse-web-seed-")
		if err != nil {
			seedTemplate.err = err
			return
		}
		seedTemplate.dir = dir
		s := apptest.Start(t, func(c *config.Config) { c.DataDir = dir })
		if _, err := demo.Seed(context.Background(), demo.Client{URL: s.URL, Token: s.Token}, demo.Options{Scale: 0.01}); err != nil {
			seedTemplate.err = fmt.Errorf("seed: %w", err)
		}
		s.Stop(t) // a clean stop: every file complete, every lock released
	})
	if seedTemplate.err != nil {
		t.Fatalf("demo template: %v", seedTemplate.err)
	}
	dst := t.TempDir()
	if err := copyTree(seedTemplate.dir, dst); err != nil {
		t.Fatalf("copy the demo template: %v", err)
	}
	return dst
}

// copyTree copies the regular files and directories under src into dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		info, err := in.Stat()
		if err != nil {
			return err
		}
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// TestMain removes the seeded template when the tests are done.
func TestMain(m *testing.M) {
	code := m.Run()
	if seedTemplate.dir != "" {
		os.RemoveAll(seedTemplate.dir)
	}
	os.Exit(code)
}
