package cli

import (
	"lakehouse/app"
	"lakehouse/modules/catalog"
	"lakehouse/modules/embed"
	"lakehouse/modules/ingest"
	"lakehouse/modules/observer"
	"lakehouse/modules/pathway"
	"lakehouse/modules/query"
	"lakehouse/modules/storage"
	"lakehouse/modules/vector"
	"lakehouse/modules/workbench"
)

// AllModules returns a fresh instance of every module lakehouse ships.
// This is the one place concrete modules are named.
func AllModules() []app.Module {
	return []app.Module{
		storage.New(),
		catalog.New(),
		ingest.New(),
		query.New(),
		vector.New(),
		embed.New(),
		pathway.New(),
		observer.New(),
		workbench.New(),
	}
}
