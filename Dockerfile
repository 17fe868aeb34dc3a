# swiftdeploy-api for real users: build with the official Swift image, run on slim Debian.
#   docker build -t swiftdeploy/api:0.1.0 .
# Without registry access, use scripts/build-images instead (see docs/demo-service.md).
ARG SWIFT_VERSION=6.3

FROM swift:${SWIFT_VERSION}-bookworm AS build
WORKDIR /src
# Resolve dependencies in their own layer so source edits do not refetch them.
COPY Package.* ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product swiftdeploy-api \
 && install -D -m 0755 "$(swift build -c release --show-bin-path)/swiftdeploy-api" /out/swiftdeploy-api

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 swiftdeploy \
 && useradd --system --uid 10001 --gid swiftdeploy --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin swiftdeploy
COPY --from=build /out/swiftdeploy-api /usr/local/bin/swiftdeploy-api
USER 10001:10001
EXPOSE 3000
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/swiftdeploy-api", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/swiftdeploy-api"]
