# `make test` is the one command that runs every check and test; CI runs it.
GO ?= go
PKGS := ./...
# Every package, tests included, must build and vet for these systems too (the
# reactor has a poller per OS).
CROSS_OS := darwin freebsd windows

# The interop suites run foreign clients (npm packages, Python) against the
# server: they run once, in their own target, not with the unit tests.
UNIT_PKGS = $$($(GO) list $(PKGS) | grep -v '/interop$$')

.PHONY: fuzz test fmt-check tidy-check vet cross test-go bench-test etcd-test bgpprobe-test node-test interop browser-test bench gobench rpcbench httpbench soak overhead

test: fmt-check tidy-check vet cross test-go bench-test etcd-test bgpprobe-test node-test interop browser-test

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Every module's go.mod and go.sum say exactly what its code needs. (The
# Markdown links and the import rule are checked by internal/house's tests.)
tidy-check:
	@for mod in $$(git ls-files '*go.mod' 2>/dev/null || echo go.mod); do \
		dir=$$(dirname $$mod); echo "go mod tidy -diff in $$dir"; \
		(cd $$dir && $(GO) mod tidy -diff) || exit 1; \
	done

vet:
	$(GO) vet $(PKGS)

cross:
	@for os in $(CROSS_OS); do \
		echo "GOOS=$$os go vet $(PKGS)"; \
		GOOS=$$os $(GO) vet $(PKGS) || exit 1; \
	done

test-go:
	$(GO) test -race -count=1 $(UNIT_PKGS)

# bench/ is a module of its own, so that the peers it measures against (gRPC,
# the MongoDB Go driver) stay out of the core's go.mod. Its tests include the
# Go MongoDB driver's interop suite and a short run of the harness.
bench-test:
	cd bench && $(GO) vet ./... && $(GO) test -count=1 -v ./...

# rpc/discovery/etcd is a module of its own, so that etcd's client stays out
# of the core. Its tests run an embedded etcd server on loopback ports, and
# the cluster example against Debian's etcd-server when installed (about
# 40 s; the first compile of etcd's server takes minutes on 2 cores).
etcd-test:
	cd rpc/discovery/etcd && $(GO) vet ./... && $(GO) test -count=1 ./...

# cmd/bgpprobe is a module of its own, so that its SQLite driver stays out of
# the core. Its tests peer with real BIRD 2 and GoBGP daemons (Debian's bird2
# and gobgpd, installed by .ci/run; a test skips, saying why, if they cannot be
# had).
# protocols/bgp/gobgpdiff, a module of tests only, decodes the same bytes with
# protocols/bgp and GoBGP's packet package (its fuzz corpus runs as tests).
bgpprobe-test:
	cd cmd/bgpprobe && $(GO) vet ./... && $(GO) test -race -count=1 ./...
	cd protocols/bgp/gobgpdiff && $(GO) vet ./... && $(GO) test -count=1 ./...

# The Node.js client's own tests (node's test runner) and its type check.
node-test:
	cd clients/node && npm ci --no-audit --no-fund && npm test && npm run typecheck

# Installs interop/node's npm packages on first use (some 180 MB). A suite
# whose client is not installed is skipped; -v shows why, and the times.
interop:
	$(GO) test -count=1 -v ./interop/...

# interop/browser is a module of its own, so that chromedp stays out of the
# core: headless Chromium (Debian's chromium, installed by .ci/run) loads the
# status page from a running twistd under load (it skips, saying why,
# without chromium). -args -screenshot docs/status.png remakes the picture.
browser-test:
	cd interop/browser && $(GO) vet ./... && $(GO) test -count=1 -v ./...

# docs/benchmarks.md and its charts: every workload of bench/ against its
# peers in one run, servers pinned to CPU 0 and loads to CPU 1 (under 20
# minutes on 2 cores; needs taskset, and wrk for the HTTP server).
bench:
	cd bench && $(GO) run ./cmd/benchreport -out ../docs/benchmarks.md

# The Go benchmarks of every package of the main module.
gobench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# The side-by-side RPC measurement against net/rpc and gRPC (a few minutes).
rpcbench:
	cd bench && $(GO) run ./cmd/rpcbench

# What the instrumentation costs (issue 17: at most 1% of CPU) on the echo
# and RPC benchmarks' workloads: their servers built with the counting on and
# off, counted under valgrind --tool=callgrind, and timed pinned (three to four
# minutes; needs valgrind and taskset). make test checks only that its off
# edits still match the code (TestOffEditsApply).
overhead:
	$(GO) run ./metrics/internal/overheadload

# One twistd process (framed RPC, MongoDB wire, HTTP) under every kind of
# load at once for SOAKTIME, failing on a lost or wrong answer, growth or an
# unprovoked error in its log (docs/soak.md); the plot goes to
# docs/soak.svg. bench-test runs it for 30 s.
SOAKTIME ?= 10m
soak:
	cd bench && $(GO) run ./cmd/soak -duration $(SOAKTIME) -svg ../docs/soak.svg

# The HTTP server against net/http, fasthttp and nbhttp under wrk (about a
# minute and a half; needs wrk and taskset).
httpbench:
	cd bench && $(GO) run ./cmd/httpbench

# Every fuzz target of the module (found with go test -list, so that new
# ones are included), each run for FUZZTIME. `make test` runs their seed
# corpora as ordinary tests. make fuzz FUZZTIME=30s for a quick pass.
FUZZTIME ?= 10m
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done
