package racetest

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every test that skips itself under -race must be run by the Makefile's
// pass without it, or `make test` would silently lose it.
func TestMakefileRunsEveryCPUBoundTest(t *testing.T) {
	root := filepath.Join("..", "..")
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	heavy := regexp.MustCompile(`(?m)^HEAVY_TESTS := (.*)$`).FindSubmatch(mk)
	pkgs := regexp.MustCompile(`(?m)^HEAVY_PKGS := (.*)$`).FindSubmatch(mk)
	if heavy == nil || pkgs == nil {
		t.Fatal("the Makefile has no HEAVY_TESTS / HEAVY_PKGS")
	}
	fn := regexp.MustCompile(`func (Test\w+)\(t \*testing\.T\) \{`)
	found := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		text := string(src)
		for _, call := range regexp.MustCompile(`racetest\.CPUBound\(t\)`).FindAllStringIndex(text, -1) {
			names := fn.FindAllStringSubmatch(text[:call[0]], -1)
			if len(names) == 0 {
				continue
			}
			name := names[len(names)-1][1]
			found++
			if !strings.Contains(string(heavy[1]), name) {
				t.Errorf("%s (%s) skips itself under -race but HEAVY_TESTS does not name it", name, path)
			}
			pkg := "./" + filepath.ToSlash(filepath.Dir(strings.TrimPrefix(path, root+string(filepath.Separator))))
			if !strings.Contains(string(pkgs[1]), pkg) {
				t.Errorf("%s is in %s, which HEAVY_PKGS does not list", name, pkg)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatal("no test calls racetest.CPUBound: the Makefile's second pass runs nothing")
	}
}
