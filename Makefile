# DiskDB — the two commands: `make run` and `make test`.
# Both install missing system packages first (Debian: clang/libclang for
# RocksDB's bindings, redis-server/redis-tools for differential tests,
# python3-venv and npm for the client and framework tests, which install their
# pinned PyPI/npm packages under the build folder on first use).

CARGO ?= cargo
PORT ?= 6380
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN := $(or $(CARGO_TARGET_DIR),target)/release/diskdb
NEXTEST := $(shell $(CARGO) nextest --version >/dev/null 2>&1 && echo yes)

.PHONY: deps build run test test-int test-diff test-unit bench lint fmt asan release-linux-x64 clean

# Installs what the build and the tests need, only if missing.
deps:
	@missing=""; \
	command -v clang >/dev/null 2>&1 || missing="$$missing clang"; \
	ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || ls /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1 || missing="$$missing libclang-dev"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v redis-cli >/dev/null 2>&1 || missing="$$missing redis-tools"; \
	command -v g++ >/dev/null 2>&1 || missing="$$missing g++"; \
	python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(CARGO) build --release

run: build
	mkdir -p data
	$(BIN) --config conf/diskdb.toml --port $(PORT)

test: deps
ifeq ($(NEXTEST),yes)
	$(CARGO) nextest run --release --no-fail-fast
else
	$(CARGO) test --release --no-fail-fast
endif

test-unit: deps
	$(CARGO) test --release --lib

test-int: deps
	$(CARGO) test --release --test '*'

test-diff: deps
	$(CARGO) test --release --test diff

# Criterion micro-benchmarks (benches/): RESP parsing (C vs the Rust
# reference parser), reply encoding, key and score encoding. A few minutes;
# reports under target/criterion/. Numbers: docs/benchmarks.md.
bench: deps
	$(CARGO) bench --bench '*'

# DiskDB against redis-server (AOF everysec, then always) with redis-benchmark,
# alternating A/B/A/B, ~5 minutes: prints the table, writes CSV and chart under
# target/bench-compare/ and publishes them to docs/ (benchmarks.md's table,
# bench-compare.png, bench-compare.csv). scripts/bench_compare.py --help.
bench-compare: build
	@$(GNUPLOT_IF_MISSING)
	python3 scripts/bench_compare.py --publish docs

# The same in under a minute (everysec only, one round, fewer keys), for
# development; publishes nothing.
bench-quick: build
	@$(GNUPLOT_IF_MISSING)
	python3 scripts/bench_compare.py --quick

# More data than cache: loads 2M x 200 B (~420 MB) with a 32 MiB block
# cache, then random GETs; RSS, throughput, p99, on-disk vs logical size, and
# redis-server's figures. BIGDATA_FLAGS=--full: 20M keys, 128 MiB cache.
# scripts/bench_storage.py --help.
bench-bigdata: build
	python3 scripts/bench_storage.py bigdata $(BIGDATA_FLAGS)

# Start-up time with a large dataset (3M keys; RESTART_FLAGS=--full: 15M,
# ~3 GB) against redis-server loading the AOF of the same data.
bench-restart: build
	python3 scripts/bench_storage.py restart $(RESTART_FLAGS)

# gnuplot draws bench-compare's chart; without it only the chart is skipped.
GNUPLOT_IF_MISSING = command -v gnuplot >/dev/null 2>&1 || { echo "installing: gnuplot-nox"; \
	$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq gnuplot-nox; } || \
	echo "gnuplot-nox could not be installed: no chart"

lint:
	$(CARGO) clippy --release --all-targets -- -D warnings

fmt:
	$(CARGO) fmt

# The C parser's tests under AddressSanitizer (only the parser is instrumented,
# so RocksDB is not rebuilt; works on the stable toolchain).
asan: deps
	DISKDB_ASAN=1 CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="env LD_PRELOAD=$$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0" $(CARGO) test --release --lib resp::

# ---- Release packaging (docs/release.md) ----
# Each release-* target makes $(DIST)/diskdb-VERSION-PLATFORM.tar.gz holding
# diskdb-VERSION-PLATFORM/{diskdb, conf/diskdb.toml, README.md, LICENSE}, plus
# a .sha256 beside it (check: cd dist && sha256sum -c *.sha256). The binary's
# debug info is stripped; its symbols stay, for readable backtraces.
DIST ?= dist
# `make release-linux-x64 RELEASE_BUILD=` packages the binary already built
# (tests/release.rs does, with BIN= and DIST=) instead of running `build` first.
RELEASE_BUILD ?= build
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
SHA256 := $(shell command -v sha256sum >/dev/null 2>&1 && echo sha256sum || echo 'shasum -a 256')
ARM_TARGET := aarch64-unknown-linux-gnu
ARM_PREFIX := aarch64-linux-gnu-

# $(call package,PLATFORM,BINARY,STRIP COMMAND)
define package
	rm -rf $(DIST)/diskdb-$(VERSION)-$(1) && mkdir -p $(DIST)/diskdb-$(VERSION)-$(1)/conf
	cp $(2) $(DIST)/diskdb-$(VERSION)-$(1)/diskdb
	$(3) $(DIST)/diskdb-$(VERSION)-$(1)/diskdb
	cp conf/diskdb.toml $(DIST)/diskdb-$(VERSION)-$(1)/conf/
	cp README.md LICENSE $(DIST)/diskdb-$(VERSION)-$(1)/
	cd $(DIST) && tar czf diskdb-$(VERSION)-$(1).tar.gz diskdb-$(VERSION)-$(1) && \
	  $(SHA256) diskdb-$(VERSION)-$(1).tar.gz > diskdb-$(VERSION)-$(1).tar.gz.sha256
	rm -rf $(DIST)/diskdb-$(VERSION)-$(1)
	@echo "$(DIST)/diskdb-$(VERSION)-$(1).tar.gz"
endef

release-linux-x64: $(RELEASE_BUILD)
	$(call package,linux-x86_64,$(BIN),strip --strip-debug)

# Cross-built on Debian x86_64: gcc/g++ for aarch64 from Debian (installed if
# missing), Rust's aarch64 standard library from rustup (downloaded if
# missing). RocksDB is compiled a second time for the target (20-50 min).
release-linux-arm: deps
	@command -v $(ARM_PREFIX)g++ >/dev/null 2>&1 || { echo "installing: gcc-aarch64-linux-gnu g++-aarch64-linux-gnu"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq gcc-aarch64-linux-gnu g++-aarch64-linux-gnu; } || \
	  { echo "release-linux-arm: needs Debian's gcc-aarch64-linux-gnu and g++-aarch64-linux-gnu (cross C/C++ compilers and aarch64 libc); see docs/release.md" >&2; exit 1; }
	@rustup target list --installed 2>/dev/null | grep -qx $(ARM_TARGET) || rustup target add $(ARM_TARGET) || \
	  { echo "release-linux-arm: Rust's standard library for $(ARM_TARGET) is not installed and rustup could not download it; run 'rustup target add $(ARM_TARGET)' where the Rust distribution server is reachable (or copy ~/.rustup/toolchains/<toolchain>/lib/rustlib/$(ARM_TARGET) from such a machine); see docs/release.md" >&2; exit 1; }
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=$(ARM_PREFIX)gcc \
	CC_aarch64_unknown_linux_gnu=$(ARM_PREFIX)gcc CXX_aarch64_unknown_linux_gnu=$(ARM_PREFIX)g++ \
	AR_aarch64_unknown_linux_gnu=$(ARM_PREFIX)ar \
	BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu="--sysroot=/usr/aarch64-linux-gnu" \
	  $(CARGO) build --release --target $(ARM_TARGET)
	$(call package,linux-aarch64,$(TARGET_DIR)/$(ARM_TARGET)/release/diskdb,$(ARM_PREFIX)strip --strip-debug)

# macOS builds run on a Mac (Apple's SDK cannot be used from Linux): Xcode
# command line tools (clang, libclang) and rustup; either Mac builds both.
# $(call macos,RUST TARGET,PLATFORM)
define macos
	@[ "$$(uname -s)" = Darwin ] || { echo "$@: run on a Mac with the Xcode command line tools and rustup (cargo cannot link for macOS from here); see docs/release.md" >&2; exit 1; }
	rustup target add $(1)
	$(CARGO) build --release --target $(1)
	$(call package,$(2),$(TARGET_DIR)/$(1)/release/diskdb,strip -S)
endef

release-macos-intel:
	$(call macos,x86_64-apple-darwin,macos-x86_64)

release-macos-arm:
	$(call macos,aarch64-apple-darwin,macos-arm64)

# The image of Dockerfile (needs a Docker engine; the build compiles RocksDB).
docker:
	docker build -t diskdb/diskdb:$(VERSION) -t diskdb/diskdb:latest \
	  --build-arg GIT_COMMIT=$$(git rev-parse --short HEAD 2>/dev/null || echo unknown) .

.PHONY: bench-compare bench-quick bench-bigdata bench-restart release-linux-arm release-macos-intel release-macos-arm docker

clean:
	$(CARGO) clean
	rm -rf dist
