# capsim's container image: the binary alone, run as a non-root user.
#   docker build -t capsim:0.1.0 .
#   docker run --rm capsim:0.1.0 run --clusters 100
# Every pod of a sharded sweep must run the same image: a run's checkpoint key includes
# the binary that ran it (docs/distributed.md).

# Build stage: the workspace, compiled in release (build.rs records the git commit when
# .git is in the context; `unknown` otherwise).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p sim-cli \
 && strip target/release/capsim

# Runtime stage: Debian's slim image (a shell for the Job's command line), no toolchain.
FROM debian:bookworm-slim
COPY --from=build /src/target/release/capsim /usr/local/bin/capsim
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /data capsim \
 && mkdir -p /data && chown capsim:capsim /data
USER 10001:10001
WORKDIR /data
ENTRYPOINT ["capsim"]
CMD ["--help"]
