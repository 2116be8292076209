# Portico developer entry points. `make test` is what CI runs (.ci/run).
#   make tools   install the pinned Envoy 1.40, func-e, wrk, h2load, redis-server, ratelimit (scripts/install-tools.sh)
#   make deps    npm ci, when node_modules is missing or older than package-lock.json
#   make build   compile the Wasm filters and test fixtures (npm run build:wasm)
#   make test    tools + deps + build, then lint, unit, as-pect, e2e tests and the typecheck
#   make lint    biome: formatting and lint rules of the TypeScript, checked, never rewritten
#   make format  biome: rewrites the TypeScript's formatting and applies safe lint fixes
#   make run     build, then run the gateway (on .run/gateway.yaml, a copy of gateway.yaml made on the
#                first run: control plane + Envoy + two demo upstreams);
#                make run CONFIG=envoy-configs/x.yaml runs one filter in a static Envoy config instead
#   make clean   remove build outputs (dist/); `make distclean` also node_modules and .tools
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test
.DELETE_ON_ERROR:
.NOTPARALLEL:

CONFIG ?= gateway.yaml
# npm ci rewrites this hidden lockfile, so its mtime says when deps were installed.
NODE_STAMP := node_modules/.package-lock.json

say = @printf '\n==> %s\n' "$(1)"

.PHONY: tools deps build test lint format test-unit test-as test-e2e typecheck run clean distclean

tools:
	$(call say,tools: scripts/install-tools.sh)
	@bash scripts/install-tools.sh

deps: $(NODE_STAMP)

$(NODE_STAMP): package-lock.json
	$(call say,deps: npm ci)
	npm ci --no-audit --no-fund
	@touch $@

build: deps
	$(call say,build: npm run build:wasm)
	npm run --silent build:wasm

# Steps run in this order and stop at the first failure (.NOTPARALLEL: even
# under -j, e2e timings must not compete with other suites on 2 cores).
test: tools deps build lint test-unit test-as test-e2e typecheck

# Check only (biome ci writes nothing): a formatting or lint finding fails the run, first and in
# about a second. The AssemblyScript sources are out of scope (biome.json says which and why).
lint: deps
	$(call say,lint: biome ci (format + lint, check only))
	npx biome ci --colors=off .

format: deps
	$(call say,format: biome check --write)
	npx biome check --write .

# The unit project holds the fuzz properties, which run filters' Wasm synchronously: a filter
# stuck in a loop blocks the test worker, and no vitest timeout can interrupt it. This bound
# (about 5x a normal run) turns such a hang into a failure instead of CI's 90-minute limit.
test-unit: deps
	$(call say,test: vitest unit)
	timeout --kill-after=30s 15m npx vitest run --project unit

test-as: deps
	$(call say,test: as-pect (npm run test:as))
	npm run --silent test:as

test-e2e: tools build
	$(call say,test: vitest e2e (real Envoy via func-e))
	npx vitest run --project e2e

typecheck: deps
	$(call say,typecheck: tsc --noEmit)
	npx tsc --noEmit -p tsconfig.json

run: tools deps build
	$(call say,run: scripts/run.sh $(CONFIG))
	@bash scripts/run.sh $(CONFIG)

clean:
	$(call say,clean: dist/ coverage/)
	rm -rf dist coverage

distclean: clean
	$(call say,distclean: node_modules/ .tools/)
	rm -rf node_modules .tools
