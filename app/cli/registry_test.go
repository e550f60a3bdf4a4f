package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"lakehouse/config"
	"lakehouse/modules/kit"
)

// checkRegistry lists every place a registered module is missing from:
// a unique name, --modules, its config section (in config.Config, with a
// Validate, and in the generated reference), docs/ARCHITECTURE.md.
func checkRegistry(mods []kit.Module) []error {
	var errs []error
	reference, err := os.ReadFile("../../docs/CONFIG.md")
	if err != nil {
		return []error{err}
	}
	arch, err := os.ReadFile("../../docs/ARCHITECTURE.md")
	if err != nil {
		return []error{err}
	}
	sections := map[string]bool{}
	for _, s := range config.Default().Sections() {
		sections[s.Name] = true
	}
	seen := map[string]bool{}
	for _, m := range mods {
		name := m.Name()
		if seen[name] {
			errs = append(errs, fmt.Errorf("module %q registered twice", name))
		}
		seen[name] = true
		if _, err := ParseModules([]string{name}); err != nil {
			errs = append(errs, fmt.Errorf("module %q: --modules refuses it: %v", name, err))
		}
		if cf, ok := m.(kit.Configured); ok && cf.ConfigSection() != "" {
			sec := cf.ConfigSection()
			if !sections[sec] {
				errs = append(errs, fmt.Errorf("module %q: config section %q is not a validated section of config.Config", name, sec))
			}
			if !strings.Contains(string(reference), "## ["+sec+"]") {
				errs = append(errs, fmt.Errorf("module %q: section [%s] missing from docs/CONFIG.md (go test ./config -run Reference -update)", name, sec))
			}
		}
		if !strings.Contains(string(arch), "`"+name+"`") {
			errs = append(errs, fmt.Errorf("module %q: not described in docs/ARCHITECTURE.md (name it as `%s`)", name, name))
		}
	}
	return errs
}

// TestRegistryIsComplete: every registered module is known everywhere.
func TestRegistryIsComplete(t *testing.T) {
	if errs := checkRegistry(AllModules()); len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
}

// forgotten is a module whose author registered it and forgot the rest.
type forgotten struct{}

func (forgotten) Name() string                               { return "forgotten" }
func (forgotten) Deps() []string                             { return nil }
func (forgotten) Init(context.Context, *kit.Container) error { return nil }
func (forgotten) ConfigSection() string                      { return "forgotten" }

// TestRegistryCatchesAForgottenPiece: a module missing its config
// section and docs fails loudly, naming each missing piece.
func TestRegistryCatchesAForgottenPiece(t *testing.T) {
	errs := checkRegistry(append(AllModules(), forgotten{}, forgotten{}))
	text := errors.Join(errs...).Error()
	for _, want := range []string{"registered twice", `config section "forgotten"`, "docs/CONFIG.md", "docs/ARCHITECTURE.md"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
}

// TestDoctorListsEveryModule: doctor reports every registered module, by
// the registry's names.
func TestDoctorListsEveryModule(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	checks := runDoctor(context.Background(), cfg)
	have := map[string]bool{}
	for _, c := range checks {
		have[c.Name] = true
	}
	for _, n := range ModuleNames() {
		if !have["module "+n] {
			t.Errorf("doctor does not list module %q (checks: %v)", n, checks)
		}
	}
}

func TestParseModules(t *testing.T) {
	if m, _ := ParseModules(nil); len(m) != len(AllModules()) {
		t.Fatal("empty should mean all")
	}
	if _, err := ParseModules([]string{"storage", "warp"}); err == nil || !strings.Contains(err.Error(), "warp") {
		t.Fatalf("err = %v", err)
	}
}
