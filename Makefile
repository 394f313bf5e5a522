# The two commands of the README: `make demo` and `make test`. Each installs
# what is missing first (Debian packages, npm packages, native build, tsc).
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.sci-npm-ci
# Every folder tsc compiles (tsconfig.json's include list).
TS_DIRS := $(shell node -p "require('./tsconfig.json').include.join(' ')")
SOURCES := $(shell find $(TS_DIRS) -name '*.ts' -not -path '*/node_modules/*' 2>/dev/null) tsconfig.json

.PHONY: help system deps build lint format test test-unit test-integration test-e2e test-hosts fuzz demo bench clean

help:
	@echo "make demo   run the main job on the built-in WordNet corpus"
	@echo "make test   run the whole test suite (unit, integration, e2e)"
	@echo "make bench  run the benchmarks in bench/ (each prints a ratio against a baseline run beside it)"
	@echo "make fuzz   run the hostile-peers fuzz suite at length (FUZZ_ROUNDS, FC_RUNS)"
	@echo "make test-hosts  the three-host cluster tests alone (network namespaces, root), wire faults included"

system:
	@scripts/ensure-system.sh

$(NPM_STAMP): package.json package-lock.json
	npm ci --strict-allow-scripts --no-audit --no-fund
	@touch $@

ADDON := faiss/native/build/Release/faiss_addon.node
NATIVE_SOURCES := $(wildcard faiss/native/src/*) faiss/native/binding.gyp

# npm ci builds the addon; this rebuilds it when its C++ sources change.
$(ADDON): $(NPM_STAMP) $(NATIVE_SOURCES)
	npm run --workspace faiss/native install
	@touch $@

deps: system $(NPM_STAMP) $(ADDON)

# The gRPC message and service types, generated from proto/sci.proto (the options loadSciProto loads it with).
GRPC_TYPES := api/grpc-types/sci.ts
$(GRPC_TYPES): $(NPM_STAMP) proto/sci.proto
	rm -rf api/grpc-types
	npm run --silent gen:grpc

dist/.built: $(NPM_STAMP) $(SOURCES) $(GRPC_TYPES)
	npx tsc -p tsconfig.json
	@touch $@

build: deps dist/.built

# typescript-eslint (with the folder-boundary rule in eslint.config.js) and prettier's check.
lint: $(NPM_STAMP)
	npx eslint --max-warnings 0 .
	npx prettier --check --log-level warn .

format: $(NPM_STAMP)
	npx prettier --write --log-level warn .

# Test files are named explicitly: given a folder, node 20 would also run
# every .js under a test/ folder (our support modules) as a test file.
tests_in = $(shell find $(1) -name '*.test.js' | sort)

# Test files run TEST_JOBS at a time: two on a 2-core machine (node's own default, cores − 1,
# would run one), where the cluster tests wait on processes, NATS and timers as much as they
# compute; one per core beyond that.
TEST_JOBS ?= $(shell n=$$(nproc); echo $$(( n > 2 ? n - 1 : 2 )))
NODE_TEST := node --test --test-concurrency=$(TEST_JOBS) --test-reporter=spec
# The suite names the nats-server it runs against (the one on PATH, which the tests start).
NATS_VERSION = @echo "sci-cluster tests run against $$(nats-server --version) ($$(command -v nats-server))"

# One node --test run, so the runner prints one closing summary for CI. The three-host tests
# first, beside the unit tests: the longest file starts first (no long tail), and the one most
# sensitive to load (three NATS nodes, partitions, 3 s ack waits) runs beside the lightest files.
# Run beside the integration tests, it failed twice (a worker's NATS client hit a protocol
# "parse error"; see the test's delivery limit).
HOST_TESTS = dist/test/integration/hosts-cluster.test.js dist/test/integration/hosts-harness.test.js
test: build lint
	$(NATS_VERSION)
	$(NODE_TEST) $(HOST_TESTS) $(call tests_in,dist/test/unit) $(filter-out $(HOST_TESTS),$(call tests_in,dist/test/e2e dist/test/integration))

test-unit: build
	$(NODE_TEST) $(call tests_in,dist/test/unit)

test-integration: build
	$(NATS_VERSION)
	$(NODE_TEST) $(call tests_in,dist/test/integration)

test-e2e: build
	$(NATS_VERSION)
	$(NODE_TEST) $(call tests_in,dist/test/e2e)

# The three-host cluster tests alone (root and ip netns; scripts/netns-hosts.sh makes the hosts); they
# also run in `make test`.
test-hosts: build
	$(NATS_VERSION)
	$(NODE_TEST) $(HOST_TESTS)

# The hostile-peers fuzz suite at length (its one-round version runs in `make test`): every role's
# subjects, HTTP and gRPC fronts, FUZZ_ROUNDS rounds; the frame decoders' properties at FC_RUNS runs.
fuzz: build
	$(NATS_VERSION)
	FUZZ_ROUNDS=$${FUZZ_ROUNDS:-20} FC_RUNS=$${FC_RUNS:-100000} $(NODE_TEST) dist/test/integration/fuzz-peers.test.js dist/test/unit/search/frames.property.test.js

demo: build
	@scripts/demo.sh

bench: build
	node dist/bench/ingest.js
	node dist/bench/ann-sweep.js
	node dist/bench/faiss.js
	node dist/bench/bm25.js
	node dist/bench/encoder.js
	node dist/bench/search.js
	node dist/bench/shared-quantizer.js
	node dist/bench/routed.js
	node dist/bench/graph-groups.js
	node dist/bench/scale.js --out out/scale
	node dist/bench/corpus-scale.js --rows 1000000
	node dist/bench/mine.js

clean:
	rm -rf dist node_modules .sci api/grpc-types
