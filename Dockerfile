# syntax=docker/dockerfile:1
#
# DiskDB image: `make docker`, or
#   docker build -t diskdb/diskdb .
#   docker run -d --name diskdb -p 6380:6380 -v diskdb:/data diskdb/diskdb
# Extra arguments are passed to diskdb, e.g. `... diskdb/diskdb --requirepass s3cret`.
# The configuration is /etc/diskdb/diskdb.toml (conf/diskdb.toml with bind
# 0.0.0.0 and dir /data); mount your own file there to change it.
# See docs/release.md.

# ---- build: compiles RocksDB (~10 min on two cores) and the server ----------
FROM rust:1-bookworm AS build
# clang + libclang for RocksDB's bindgen bindings and C++ build.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang libclang-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, in a layer of their own that only Cargo.toml, Cargo.lock,
# build.rs and csrc/ invalidate (RocksDB is most of the build time): the real
# manifest over stub sources, one stub per bench/test/example target that the
# manifest names, since cargo checks that their files exist.
COPY Cargo.toml Cargo.lock build.rs ./
# Build-time settings (jemalloc's compiled-in options).
COPY .cargo .cargo
COPY csrc csrc
RUN mkdir -p src && echo 'fn main() {}' > src/main.rs && : > src/lib.rs \
 && awk 'function out() { if (k != "" && n != "") print (p != "" ? p : d[k] "/" n ".rs"); k = n = p = "" } \
      BEGIN { d["bench"] = "benches"; d["test"] = "tests"; d["example"] = "examples" } \
      /^\[\[(bench|test|example)\]\]/ { out(); k = $0; gsub(/[^a-z]/, "", k); next } \
      /^\[/ { out(); next } \
      k != "" && /^name *=/ { n = $0; sub(/^name *= *"/, "", n); sub(/".*/, "", n) } \
      k != "" && /^path *=/ { p = $0; sub(/^path *= *"/, "", p); sub(/".*/, "", p) } \
      END { out() }' \
      Cargo.toml > /tmp/stubs \
 && while read -r f; do mkdir -p "$(dirname "$f")" && echo 'fn main() {}' > "$f"; done < /tmp/stubs \
 && cargo build --release --locked --bin diskdb \
 && rm -rf src benches tests examples /tmp/stubs
COPY . .
# Commit reported by `diskdb --version` and INFO when .git is not in the
# context (it is excluded by .dockerignore); `make docker` passes it.
ARG GIT_COMMIT=unknown
ENV DISKDB_GIT_COMMIT=${GIT_COMMIT}
# The stubs' build is newer than the copied sources: touch the crate roots so
# cargo rebuilds the crate (only the crate; the dependencies stay built).
# Debug info is stripped; symbols stay, for readable backtraces.
RUN touch src/lib.rs src/main.rs \
 && cargo build --release --locked --bin diskdb \
 && install -D -m 0755 target/release/diskdb /out/diskdb \
 && strip --strip-debug /out/diskdb
# The container's configuration: listen on every interface of the container
# (publish the port to choose who reaches it) and keep the data in /data.
RUN sed -e 's/^bind = .*/bind = "0.0.0.0"/' \
        -e 's|^dir = .*|dir = "/data"|' \
        conf/diskdb.toml > /out/diskdb.toml \
 && grep -q '^bind = "0.0.0.0"$' /out/diskdb.toml \
 && grep -q '^dir = "/data"$' /out/diskdb.toml

# ---- runtime: the binary, its configuration, a non-root user -----------------
FROM debian:bookworm-slim
# The binary links only libc, libm, libgcc_s and libstdc++ (RocksDB, lz4,
# zstd and snappy are static); bookworm-slim has them all.
RUN groupadd --system --gid 999 diskdb \
 && useradd --system --uid 999 --gid diskdb --home-dir /data --no-create-home --shell /usr/sbin/nologin diskdb \
 && mkdir -p /data /etc/diskdb \
 && chown diskdb:diskdb /data
COPY --from=build /out/diskdb /usr/local/bin/diskdb
COPY --from=build /out/diskdb.toml /etc/diskdb/diskdb.toml
COPY README.md LICENSE /usr/share/doc/diskdb/
USER diskdb
WORKDIR /data
VOLUME ["/data"]
EXPOSE 6380
# Healthy = the server answers RESP on its port, with bash's /dev/tcp (no
# redis-cli in the image): +PONG, or -NOAUTH when a password is set, which
# still proves the server is up and serving.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/6380 && printf 'PING\\r\\n' >&3 && IFS= read -r -t 2 reply <&3 && [[ $reply == +PONG* || $reply == -NOAUTH* ]]"]
# SIGTERM (docker stop) makes diskdb finish the commands in flight, sync the
# WAL and exit; give it time before SIGKILL with `docker stop -t`.
STOPSIGNAL SIGTERM
ENTRYPOINT ["diskdb", "--config", "/etc/diskdb/diskdb.toml"]
CMD []
