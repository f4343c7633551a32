# Parley's everyday commands. `make` alone lists them; `make test` is THE
# test command, the one CI runs (.ci/run).

GO        ?= go
FUZZTIME  ?= 30s
ARGS      ?=
PROTOC_GEN_GO_VERSION := v1.36.12

# The backends the suite tests besides the embedded ones; set one to empty
# (make test PARLEY_TEST_POSTGRES=) to leave that backend out.
PARLEY_TEST_POSTGRES ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
PARLEY_TEST_NATS     ?= nats://127.0.0.1:4222
export PARLEY_TEST_POSTGRES PARLEY_TEST_NATS

SHELL       := bash
.SHELLFLAGS := -euo pipefail -c

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.DEFAULT_GOAL := help
.PHONY: help build run services test test-short fuzz diffuzz bench gen lint clean

help: ## list the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z_-]+:.*## / { printf "  %-11s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

build: ## build bin/parley
	$(GO) build -o bin/parley ./cmd/parley

run: ## run parley serve on the embedded defaults (pass flags with ARGS="--listen ...")
	$(GO) run ./cmd/parley serve $(ARGS)

services: ## start local PostgreSQL and NATS if they are down
	@scripts/services.sh

test: services ## THE test command: vet, then every test with -race, PostgreSQL and NATS included
	@command -v tmux >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y tmux; }
	cd interop/oracle && npm ci --no-audit --no-fund --loglevel=error
	cd interop/pix && npm ci --no-audit --no-fund --loglevel=error
	cd interop/cloudapi && npm ci --no-audit --no-fund --loglevel=error
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...
	PARLEY_TEST_READINESS=epoll $(GO) test -race -count=1 -timeout 10m ./internal/gateway/...

test-short: services ## the tests in -short mode, without -race: quick feedback
	$(GO) test -short -count=1 -timeout 10m ./...

fuzz: ## run every Fuzz target for FUZZTIME (default 30s) each
	@targets=$$($(GO) test -list '^Fuzz' ./... | awk ' \
		/^Fuzz/ { names = names " " $$1; next } \
		/^ok/   { if (names != "") print $$2 names; names = "" }'); \
	if [ -z "$$targets" ]; then echo "fuzz: no Fuzz targets"; exit 0; fi; \
	while read -r pkg names; do \
		for name in $$names; do \
			echo "fuzz: $$pkg $$name for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
		done; \
	done <<< "$$targets"

bench: services ## run the benchmarks BENCHMARKS.md reports, with its commands
	$(GO) test -run '^$$' -bench MessageThroughput -benchtime 20000x -count 3 ./internal/server/
	$(GO) test -run '^$$' -bench Drain -benchtime 3x -count 2 ./internal/server/
	$(GO) test -run '^$$' -bench GroupFanout -benchtime 5x -count 3 ./internal/server/
	$(GO) test -run '^$$' -bench Devices -count 3 ./internal/group/
	$(GO) test -run '^$$' -bench . -count 2 ./internal/store/sqlstore/
	$(GO) test -run '^$$' -bench Media -benchtime 10x -count 3 ./client/
	$(GO) test -run '^$$' -bench . -count 3 ./e2ee/media/
	cd interop/oracle && npm ci --no-audit --no-fund --loglevel=error
	$(GO) test -run '^$$' -bench SideBySide -count 3 ./interop/

DIFFUZZ_N ?= 100000
diffuzz: ## long differential fuzzing of e2ee against libsignal (DIFFUZZ_N mutants per target, default 100000)
	cd interop/oracle && npm ci --no-audit --no-fund --loglevel=error
	PARLEY_DIFFUZZ_N=$(DIFFUZZ_N) $(GO) test -run TestDifferentialFuzz -count=1 -timeout 2h ./interop/

gen: ## regenerate proto/wirepb, proto/buspb and proto/contentpb (installs protoc and protoc-gen-go if missing)
	@command -v protoc >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y protobuf-compiler; }
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" $(GO) generate ./proto

lint: ## check formatting (gofmt) and run go vet
	@files=$$(gofmt -l .); if [ -n "$$files" ]; then echo "gofmt would change:"; echo "$$files"; exit 1; fi
	$(GO) vet ./...

clean: ## remove bin/
	rm -rf bin
