# `make test` is the one command that runs every check and test; CI runs it.
GO ?= go
PKGS := ./...
# Every package must build for these systems too (the reactor has a poller per OS).
CROSS_OS := darwin freebsd windows

# The interop suites run foreign clients (npm packages, Python) against the
# server: they run once, in their own target, not with the unit tests.
UNIT_PKGS = $$($(GO) list $(PKGS) | grep -v '/interop$$')

.PHONY: test fmt-check vet cross test-go interop bench

test: fmt-check vet cross test-go interop

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

cross:
	@for os in $(CROSS_OS); do \
		echo "GOOS=$$os go build $(PKGS)"; \
		GOOS=$$os $(GO) build $(PKGS) || exit 1; \
	done

test-go:
	$(GO) test -race -count=1 $(UNIT_PKGS)

# Installs interop/node's npm packages on first use (some 180 MB). A suite
# whose client is not installed is skipped; -v shows why, and the times.
# The Go MongoDB driver's suite lives in the bench module, which may
# depend on the driver where the core module does not.
interop:
	$(GO) test -count=1 -v ./interop/...
	cd bench && $(GO) test -count=1 -v -run '^TestGoDriver' .

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
