package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"lakehouse/config"
	"lakehouse/modules/kit"
)

// fakeModule records lifecycle calls into a shared log.
type fakeModule struct {
	name    string
	deps    []string
	opt     []string
	log     *[]string
	initErr error
}

func (f *fakeModule) Name() string           { return f.name }
func (f *fakeModule) Deps() []string         { return f.deps }
func (f *fakeModule) OptionalDeps() []string { return f.opt }
func (f *fakeModule) Init(ctx context.Context, c *kit.Container) error {
	*f.log = append(*f.log, "init:"+f.name)
	return f.initErr
}
func (f *fakeModule) Start(ctx context.Context) error {
	*f.log = append(*f.log, "start:"+f.name)
	return nil
}
func (f *fakeModule) Stop(ctx context.Context) error {
	*f.log = append(*f.log, "stop:"+f.name)
	return nil
}

func newTestContainer(t *testing.T, log *[]string, mods ...*fakeModule) *kit.Container {
	t.Helper()
	c := kit.NewContainer(config.Default(), nil)
	for _, m := range mods {
		m.log = log
		if err := c.Register(m); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func names(ms []kit.Module) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Name())
	}
	return strings.Join(s, ",")
}

func TestPlanOrdersByDependencyDeterministically(t *testing.T) {
	var log []string
	c := newTestContainer(t, &log,
		&fakeModule{name: "query", deps: []string{"catalog", "storage"}},
		&fakeModule{name: "catalog", deps: []string{"storage"}},
		&fakeModule{name: "storage"},
		&fakeModule{name: "embed"},
		&fakeModule{name: "vector", deps: []string{"storage"}, opt: []string{"embed"}},
	)
	plan, err := c.Plan([]string{"vector", "query", "embed"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(plan), "storage,catalog,embed,query,vector"; got != want {
		t.Fatalf("order = %s, want %s", got, want)
	}
}

func TestPlanPullsRequiredButNotOptionalDeps(t *testing.T) {
	var log []string
	c := newTestContainer(t, &log,
		&fakeModule{name: "pathway", opt: []string{"embed"}},
		&fakeModule{name: "embed"},
		&fakeModule{name: "catalog", deps: []string{"storage"}},
		&fakeModule{name: "storage"},
	)
	plan, err := c.Plan([]string{"pathway", "catalog"})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(plan); got != "storage,catalog,pathway" {
		t.Fatalf("plan = %s", got)
	}
}

func TestPlanCycleIsNamed(t *testing.T) {
	var log []string
	c := newTestContainer(t, &log,
		&fakeModule{name: "a", deps: []string{"b"}},
		&fakeModule{name: "b", deps: []string{"c"}},
		&fakeModule{name: "c", deps: []string{"a"}},
	)
	_, err := c.Plan([]string{"a"})
	if err == nil || !strings.Contains(err.Error(), "cycle: a -> b -> c -> a") {
		t.Fatalf("err = %v, want the cycle named", err)
	}
}

func TestPlanMissingDependencyIsNamed(t *testing.T) {
	var log []string
	c := newTestContainer(t, &log, &fakeModule{name: "query", deps: []string{"catalog"}})
	_, err := c.Plan([]string{"query"})
	if err == nil || !strings.Contains(err.Error(), `"query" depends on "catalog", which is not registered`) {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.Plan([]string{"nope"}); err == nil || !strings.Contains(err.Error(), `unknown module "nope"`) {
		t.Fatalf("unknown module err = %v", err)
	}
}

func TestDuplicateRegistration(t *testing.T) {
	var log []string
	c := newTestContainer(t, &log, &fakeModule{name: "a"})
	if err := c.Register(&fakeModule{name: "a", log: &log}); err == nil {
		t.Fatal("duplicate module accepted")
	}
}

func TestLifecycleStopsInReverseOrder(t *testing.T) {
	var log []string
	c := newTestContainer(t, &log,
		&fakeModule{name: "storage"},
		&fakeModule{name: "catalog", deps: []string{"storage"}},
		&fakeModule{name: "query", deps: []string{"catalog"}},
	)
	ctx := context.Background()
	plan, err := c.Plan([]string{"query"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Init(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	want := "init:storage,init:catalog,init:query,start:storage,start:catalog,start:query,stop:query,stop:catalog,stop:storage"
	if got := strings.Join(log, ","); got != want {
		t.Fatalf("lifecycle = %s\nwant        %s", got, want)
	}
	if err := c.Stop(ctx); err != nil || len(log) != 9 {
		t.Fatalf("second Stop should be a no-op: %v %v", err, log)
	}
}

func TestFailingInitStopsTheOnesAlreadyInitialised(t *testing.T) {
	var log []string
	boom := errors.New("boom")
	c := newTestContainer(t, &log,
		&fakeModule{name: "storage"},
		&fakeModule{name: "catalog", deps: []string{"storage"}},
		&fakeModule{name: "query", deps: []string{"catalog"}, initErr: boom},
	)
	plan, _ := c.Plan([]string{"query"})
	err := c.Init(context.Background(), plan)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "query: init") {
		t.Fatalf("err = %v", err)
	}
	want := "init:storage,init:catalog,init:query,stop:catalog,stop:storage"
	if got := strings.Join(log, ","); got != want {
		t.Fatalf("lifecycle = %s, want %s", got, want)
	}
}

type greeter interface{ Greet() string }
type english struct{}

func (english) Greet() string { return "hello" }

func TestProvideResolveLookup(t *testing.T) {
	c := kit.NewContainer(config.Default(), nil)
	if _, err := kit.Resolve[greeter](c); err == nil || !strings.Contains(err.Error(), "greeter") {
		t.Fatalf("resolve before provide: %v", err)
	}
	if _, ok := kit.Lookup[greeter](c); ok {
		t.Fatal("lookup found an unprovided service")
	}
	kit.Provide[greeter](c, english{})
	g, err := kit.Resolve[greeter](c)
	if err != nil || g.Greet() != "hello" {
		t.Fatalf("resolve: %v %v", g, err)
	}
}
