# Multi-stage build: compile in the Rust image, ship the two binaries on a slim Debian.
# C libraries (SQLite, libpq, OpenSSL) are built from source, so the runtime image needs no
# database client packages.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p healthcare_app --bins

FROM debian:bookworm-slim AS runtime
# ca-certificates: for PostgreSQL over TLS (sslmode=verify-full); see README.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data healthcare \
    && mkdir -p /data && chown healthcare /data
COPY --from=build /src/target/release/healthcare-api /src/target/release/healthcare-admin /usr/local/bin/
USER healthcare
WORKDIR /data
ENV APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATABASE_URL=sqlite:///data/healthcare.db \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
EXPOSE 8000
CMD ["healthcare-api"]
