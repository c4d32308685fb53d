# statusd: a static binary on a small base, run as a non-root user.
#   docker build -t statusd .
#   docker run -p 9799:9799 statusd
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION} -X github.com/prometheus/common/version.Revision=${REVISION}" \
      -o /out/statusd ./cmd/statusd

# Alpine rather than distroless: the health check needs a wget.
FROM alpine:3.20
RUN adduser -D -H -u 10001 statusd && mkdir -p /var/lib/statusd && chown statusd /var/lib/statusd
COPY --from=build /out/statusd /usr/local/bin/statusd
USER statusd
WORKDIR /var/lib/statusd
EXPOSE 9799
# Without --storage.dsn, statusd keeps an SQLite file in data/ here.
VOLUME /var/lib/statusd
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
  CMD wget -q -O /dev/null http://127.0.0.1:9799/-/healthy || exit 1
ENTRYPOINT ["/usr/local/bin/statusd"]
CMD ["serve"]
