# RedRaft: `make run` starts a standalone server on 6379; `make test` installs what is missing
# and runs every suite. Cargo's target dir lives outside the checkout so every clone on this
# machine reuses the one RocksDB build (`cargo clean` there costs a 20+ minute rebuild).

SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/redraft/target
BIN := $(CARGO_TARGET_DIR)/release/redraft-server
PORT ?= 6379
DATA_DIR ?= ./data
PYTHON ?= python3
# One profile for the binary and the tests: RocksDB is compiled once.
CARGO_FLAGS := --release --locked

APT_PKGS := clang libclang-dev protobuf-compiler redis-server redis-tools

.PHONY: all build run cluster test heavy difftest chaos fuzz move-bench deps deps-apt deps-py deps-go deps-router unit gotest pytest bench bench-py fmt lint clean-data

all: build

build:
	cargo build $(CARGO_FLAGS) -p redraft-server

run: build
	$(BIN) --port $(PORT) --data-dir $(DATA_DIR)

deps: deps-apt deps-py deps-go

# Debian packages: clang/libclang for bindgen (RocksDB bindings), protoc for the proto files,
# redis-server as the reference implementation and redis-tools for redis-cli/redis-benchmark.
deps-apt:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

deps-py:
	@$(PYTHON) -c 'import redis, pytest, pytest_timeout, sys; sys.exit(0 if int(redis.__version__.split(".")[0]) >= 8 else 1)' 2>/dev/null \
		|| $(PYTHON) -m pip install -q -r tests/pytest/requirements.txt

deps-go:
	cd tests/gocase && go mod download

# The Python smart client (router-py): pip's isolated build fetches maturin; the Rust build
# reuses CARGO_TARGET_DIR (exported above) and never compiles RocksDB or openraft.
deps-router:
	$(PYTHON) -m pip install -q ./router-py

unit:
	cargo test $(CARGO_FLAGS) --workspace
	cd router-py && cargo test $(CARGO_FLAGS)

# One package at a time (-p 1): the cluster tests pick free ports and let them go just before
# their servers bind them; a package running beside them could take one (seen once:
# "Address already in use" in the chaos suite while the region-operation suite started clusters).
gotest: build
	cd tests/gocase && go test -p 1 -count=1 -timeout 20m ./... -binPath=$(BIN)

pytest: build deps-router
	REDRAFT_BIN=$(BIN) $(PYTHON) -m pytest -q tests/pytest

test: deps build unit gotest pytest

# Out of CI: the big-collection tests with 1,000,000 members (CI runs them with 200,000).
heavy: deps build
	REDRAFT_BIG_N=1000000 REDRAFT_BIN=$(BIN) $(PYTHON) -m pytest -q tests/pytest -k "big or large"

# Out of CI: the randomized differential test against redis-server 7.0.15, 100,000 operations
# over 5 seeds, RESP2 and RESP3 (CI runs 10,000 over 3 seeds).
difftest: deps build
	REDRAFT_DIFF_OPS=100000 REDRAFT_DIFF_SEEDS=1,2,3,4,5 REDRAFT_BIN=$(BIN) $(PYTHON) -m pytest -q tests/pytest/test_difftest.py

# Out of CI: moving a replica of a 1 GB region between nodes (REDRAFT_MOVE_MB sets the size;
# CI moves 32 MB). Needs about 12 GB free in the temp dir; the test checks first.
move-bench: build
	cd tests/gocase && REDRAFT_MOVE_MB=$${REDRAFT_MOVE_MB:-1024} go test -count=1 -timeout 60m ./integration/regionops/ \
		-run TestMoveTimeByRegionSize -binPath=$(BIN) -v

# Out of CI: the fault suite's full tier, every scenario with seeds 1,2,3 (REDRAFT_CHAOS_SEEDS
# overrides) and 30 s of traffic on 3 nodes, then every scenario once on 5 nodes; each pass
# prints a summary table (gotest runs the short tier). Root: the disk-full scenario mounts tmpfs.
chaos: build
	cd tests/gocase && REDRAFT_CHAOS=full go test -count=1 -timeout 150m ./integration/chaos/ -binPath=$(BIN) -v
	cd tests/gocase && REDRAFT_CHAOS=full REDRAFT_CHAOS_NODES=5 REDRAFT_CHAOS_SEEDS=$${REDRAFT_CHAOS_SEEDS5:-1} \
		go test -count=1 -timeout 150m ./integration/chaos/ -binPath=$(BIN) -v

# Out of CI: each fuzz target (server/fuzz, cargo-fuzz on nightly) for FUZZ_SECONDS, seeded with
# the inputs kept under server/fuzz/regressions/<target>/; fails on a crash, whose input libFuzzer
# writes to server/fuzz/artifacts/<target>/ (fix it, then keep it under regressions/: `make unit`
# replays them). Its own target dir: the sanitizer flags would otherwise rebuild everything,
# and the fuzz crate never depends on RocksDB.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := resp_parser raft_messages
FUZZ_TARGET_DIR ?= $(HOME)/.cache/redraft/fuzz-target

fuzz:
	@rustup toolchain list 2>/dev/null | grep -q '^nightly' || { echo "make fuzz needs a nightly toolchain (cargo-fuzz uses -Z flags): rustup toolchain install nightly"; exit 1; }
	@command -v cargo-fuzz >/dev/null || env -u CARGO_TARGET_DIR cargo install cargo-fuzz --locked
	@set -o pipefail; cd server && mkdir -p fuzz/logs && failed=""; \
	for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$t; \
		echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
		CARGO_TARGET_DIR=$(FUZZ_TARGET_DIR) cargo +nightly fuzz run $$t fuzz/corpus/$$t fuzz/regressions/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 2>&1 | tee fuzz/logs/$$t.log | (grep -E '^(Done|==[0-9]+==|SUMMARY|thread|Test unit|Output of|stat::number_of_executed_units)' || true) \
			|| failed="$$failed $$t"; \
	done; \
	for t in $(FUZZ_TARGETS); do echo "$$t: $$(grep -E '^Done' fuzz/logs/$$t.log || echo 'no result')"; done; \
	if [ -n "$$failed" ]; then echo "fuzz: crashes in:$$failed (inputs in server/fuzz/artifacts/, logs in server/fuzz/logs/)"; exit 1; fi

# A 3-node cluster on loopback (RESP 7001-7003); see scripts/cluster.sh.
cluster: build
	BIN=$(BIN) bash scripts/cluster.sh

# redis-benchmark against redraft and redis-server (fsync always / no persistence), interleaved.
bench: deps-apt build
	$(PYTHON) bench/redis_benchmark.py --bin $(BIN) --runs $${RUNS:-3} --regions 1,4 --cluster

# The smart client against redis-py's RedisCluster (+hiredis) on one 3-node cluster.
bench-py: build deps-router
	@$(PYTHON) -c 'import hiredis' 2>/dev/null || $(PYTHON) -m pip install -q hiredis
	$(PYTHON) bench/router_bench.py --bin $(BIN) --runs $${RUNS:-3}

fmt:
	cargo fmt --all
	cd tests/gocase && gofmt -w .

lint:
	cargo fmt --all -- --check
	cd router-py && cargo fmt -- --check && cargo clippy --release -- -D warnings
	cargo clippy $(CARGO_FLAGS) --workspace --all-targets -- -D warnings
	cd tests/gocase && go vet ./...

clean-data:
	rm -rf $(DATA_DIR)
