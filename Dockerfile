# A static seshat-node in a minimal image (distroless static: no shell, no
# libc, runs as an unprivileged user).
#   docker build --build-arg VERSION=$(git describe --tags --always) -t seshat .
FROM golang:1.26 AS build
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/seshat-db/seshat/app.Version=${VERSION}" \
      -o /out/seshat-node ./cmd/seshat-node

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/seshat-node /usr/local/bin/seshat-node
# Data lives in a volume. In a container every client comes from another
# host: the admin port listens on every interface (set
# SESHAT_AUTH_ADMIN_TOKEN to guard it), and the client port refuses other
# hosts until a password is set (SESHAT_AUTH_REQUIREPASS) or
# SESHAT_AUTH_PROTECTED_MODE=false, as Redis's protected mode does.
ENV SESHAT_NODE_DATA_DIR=/data SESHAT_NODE_ADMIN_ADDR=0.0.0.0:8379
VOLUME /data
EXPOSE 6379 7379 8379
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/seshat-node"]
