# retort's container image: `docker build -t retort:0.1.0 .`
#
# Stage 1 builds the release binary with the command CI also runs (.ci/run),
# from the lock file. Stage 2 is a small runtime: Debian 12's distroless "cc"
# image (glibc, libgcc, CA certificates; no shell, no package manager), running
# as the unprivileged user 65532 with retort as the entrypoint.
#
# Your own image puts your config and migrations on top (deploy/README.md):
#   FROM retort:0.1.0
#   COPY retort.toml /work/retort.toml
#   COPY migrations/ /work/migrations/

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p retort-cli

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/retort /usr/local/bin/retort
WORKDIR /work
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/retort"]
CMD ["--help"]
