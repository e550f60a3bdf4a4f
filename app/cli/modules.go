package cli

import (
	"fmt"
	"strings"

	"lakehouse/modules/catalog"
	"lakehouse/modules/embed"
	"lakehouse/modules/erasure"
	"lakehouse/modules/indexer"
	"lakehouse/modules/ingest"
	"lakehouse/modules/kit"
	"lakehouse/modules/observer"
	"lakehouse/modules/pathway"
	"lakehouse/modules/query"
	"lakehouse/modules/storage"
	"lakehouse/modules/vector"
	"lakehouse/modules/workbench"
	"lakehouse/modules/workflow"
)

// AllModules returns a fresh instance of every module lakehouse ships.
// This is the one registry: module names (--modules, /ready, doctor, the
// docs test), route prefixes and config sections are all read from the
// modules it returns. A new module is its folder plus one line here.
func AllModules() []kit.Module {
	return []kit.Module{
		storage.New(),
		catalog.New(),
		ingest.New(),
		query.New(),
		vector.New(),
		embed.New(),
		pathway.New(),
		observer.New(),
		workbench.New(),
		indexer.New(),
		workflow.New(),
		erasure.New(),
	}
}

// ModuleNames is every registered module's name, in registry order.
func ModuleNames() []string {
	var out []string
	for _, m := range AllModules() {
		out = append(out, m.Name())
	}
	return out
}

// ParseModules validates a module list against the registry; empty or
// ["all"] means every module.
func ParseModules(names []string) ([]string, error) {
	all := ModuleNames()
	if len(names) == 0 || (len(names) == 1 && names[0] == "all") {
		return all, nil
	}
	known := map[string]bool{}
	for _, m := range all {
		known[m] = true
	}
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || seen[n] {
			continue
		}
		if !known[n] {
			return nil, fmt.Errorf("modules: unknown module %q (known: %s)", n, strings.Join(all, ", "))
		}
		seen[n] = true
		out = append(out, n)
	}
	return out, nil
}
