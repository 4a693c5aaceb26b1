# syntax=docker/dockerfile:1
# The applivery-leaks container image: one static binary (musl) on a distroless base that has
# CA certificates (for --verify) and a non-root user, and nothing else.
#
#   docker build -t applivery-leaks .
#   docker run --rm -v "$PWD:/repo" applivery-leaks                 # dir . (the default)
#   docker run --rm -v "$PWD:/repo" applivery-leaks git --format sarif -o leaks.sarif .
#
# docs/ci.md explains the mounted-repository ownership check (ci/docker/gitconfig).

FROM rust:1.90-bookworm AS build
# A small image: no debug info (the release profile keeps some for profiling), stripped.
ENV CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=true
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools=1.2.3-1 \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
# Dependencies first, so that a source change does not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked --target x86_64-unknown-linux-musl \
 && rm -rf src
COPY src ./src
COPY rules ./rules
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked --target x86_64-unknown-linux-musl \
 && cp target/x86_64-unknown-linux-musl/release/applivery-leaks /applivery-leaks \
 && /applivery-leaks --version

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /applivery-leaks /usr/local/bin/applivery-leaks
COPY ci/docker/gitconfig /home/nonroot/.gitconfig
ENV HOME=/home/nonroot
WORKDIR /repo
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/applivery-leaks"]
CMD ["dir", "."]
