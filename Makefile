# DiskDB — the two commands: `make run` and `make test`.
# Both install missing system packages first (Debian: clang/libclang for
# RocksDB's bindings, redis-server/redis-tools for differential tests).

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

bench: deps
	$(CARGO) bench

lint:
	$(CARGO) clippy --release --all-targets -- -D warnings

fmt:
	$(CARGO) fmt

# The C parser's tests under AddressSanitizer (only the parser is instrumented,
# so RocksDB is not rebuilt; works on the stable toolchain).
asan: deps
	DISKDB_ASAN=1 CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="env LD_PRELOAD=$$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0" $(CARGO) test --release --lib resp::

release-linux-x64: build
	rm -rf dist/diskdb-$(VERSION)-linux-x86_64 && mkdir -p dist/diskdb-$(VERSION)-linux-x86_64/conf
	cp $(BIN) dist/diskdb-$(VERSION)-linux-x86_64/
	cp conf/diskdb.toml dist/diskdb-$(VERSION)-linux-x86_64/conf/
	cp README.md LICENSE dist/diskdb-$(VERSION)-linux-x86_64/
	cd dist && tar czf diskdb-$(VERSION)-linux-x86_64.tar.gz diskdb-$(VERSION)-linux-x86_64 && \
	  sha256sum diskdb-$(VERSION)-linux-x86_64.tar.gz > diskdb-$(VERSION)-linux-x86_64.tar.gz.sha256
	@echo "dist/diskdb-$(VERSION)-linux-x86_64.tar.gz"

clean:
	$(CARGO) clean
	rm -rf dist
