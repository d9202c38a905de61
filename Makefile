# `make test` is the one command that runs every check and test; CI runs it.
GO ?= go
PKGS := ./...
# Every package must build for these systems too (the reactor has a poller per OS).
CROSS_OS := darwin freebsd windows

.PHONY: test fmt-check vet cross test-go bench

test: fmt-check vet cross test-go

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
	$(GO) test -race -count=1 $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
