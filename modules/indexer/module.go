package indexer

import (
	"context"

	"github.com/labstack/echo/v4"

	"lakehouse/modules/catalog"
	"lakehouse/modules/embed"
	"lakehouse/modules/kit"
	"lakehouse/modules/query"
	"lakehouse/modules/vector"
)

// Module is the indexer module: the dataset → vector index pipeline. It
// reads a dataset through query, embeds with embed and adds to vector, so
// it declares all of them (and catalog, for the manifest) instead of
// looking them up per request; --modules indexer pulls them in.
type Module struct {
	h       *handler
	follow  *follower
	unwatch func()
}

var (
	_ kit.Module  = (*Module)(nil)
	_ kit.Router  = (*Module)(nil)
	_ kit.Guest   = (*Module)(nil)
	_ kit.Starter = (*Module)(nil)
	_ kit.Stopper = (*Module)(nil)
)

// New returns the indexer module.
func New() *Module { return &Module{} }

// Name implements kit.Module.
func (m *Module) Name() string { return "indexer" }

// RoutePrefix implements kit.Prefixed: its one route extends an index,
// /v1/vectors/index/<name>/from-dataset (the path clients know).
func (m *Module) RoutePrefix() string { return "vectors" }

// HostModule implements kit.Guest: the prefix is the vector module's.
func (m *Module) HostModule() string { return "vector" }

// Deps implements kit.Module.
func (m *Module) Deps() []string { return []string{"catalog", "embed", "query", "vector"} }

// Init implements kit.Module.
func (m *Module) Init(_ context.Context, c *kit.Container) error {
	h := &handler{dataDir: c.Config().DataDir, log: c.Logger("indexer"), runs: newPipelines()}
	var err error
	if h.vs, err = kit.Resolve[vector.Service](c); err != nil {
		return err
	}
	if h.q, err = kit.Resolve[query.Querier](c); err != nil {
		return err
	}
	if h.cat, err = kit.Resolve[catalog.Catalog](c); err != nil {
		return err
	}
	if h.emb, err = kit.Resolve[embed.Embedder](c); err != nil {
		return err
	}
	m.h = h
	kit.Provide[RowForgetter](c, h)
	return nil
}

// Start implements kit.Starter: indexes built with follow=true are kept
// in step with their datasets, and first caught up with the versions
// committed while the server was down.
func (m *Module) Start(ctx context.Context) error {
	m.follow = newFollower(m.h)
	m.unwatch = m.h.cat.Watch(func(ch catalog.Change) {
		if ch.Manifest != nil {
			m.follow.mark(ch.Name)
		}
	})
	go m.follow.run(context.WithoutCancel(ctx))
	for _, dataset := range listFollowed(m.h) {
		m.follow.mark(dataset)
	}
	return nil
}

// Stop implements kit.Stopper.
func (m *Module) Stop(context.Context) error {
	if m.unwatch != nil {
		m.unwatch()
	}
	if m.follow != nil {
		m.follow.stop()
	}
	return nil
}

// Routes implements kit.Router.
func (m *Module) Routes(g *echo.Group) {
	g.POST("/index/:name/from-dataset", m.h.fromDataset)
}
