# syntax=docker/dockerfile:1
# Breadboard's image: one image for every role (ROLE=all, ingest or web), every setting from the environment.
#
#   docker build -t breadboard .
#   docker run -p 8000:8000 -v breadboard-data:/data breadboard                  # ROLE=all on embedded defaults
#   docker run -e ROLE=web -e NATS_URL=nats://nats:4222 -e CLICKHOUSE_URL=http://clickhouse:8123 breadboard
#
# Stages: deps (npm packages and Deno, from npm like everywhere else), build (the island bundles), runtime (non-root,
# with only what serving needs). glibc is required by chDB and Deno, hence Debian slim rather than Alpine.

# BASE is any Debian bookworm with Node.js and npm; deploy/image/build_local.sh makes one with debootstrap where no
# registry is reachable.
ARG BASE=node:20-bookworm-slim

FROM ${BASE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Deno's npm package brings the native binary as a platform package; installed into its own prefix, the binary's
# path is fixed (the same layout `npx deno` uses).
RUN npm install --no-audit --no-fund --loglevel=error \
  && npm install --prefix /opt/deno --no-audit --no-fund deno@2.9.6 \
  && cp /opt/deno/node_modules/@deno/linux-x64-glibc/deno /usr/local/bin/deno-bin \
  && /usr/local/bin/deno-bin --version

FROM deps AS build
# Deno trusts the image's CA store as well as its own, so a build behind a TLS-inspecting proxy whose CA the base
# carries still reaches the npm registry.
ARG DENO_TLS_CA_STORE=mozilla,system
COPY . .
# The bundles land in static/build/; the install step's stamp keeps `deno task` from reinstalling.
RUN sha256sum package-lock.json | cut -d' ' -f1 > node_modules/.breadboard-lock \
  && /usr/local/bin/deno-bin run --allow-read --allow-write --allow-run --allow-env --allow-net scripts/build_islands.ts

FROM ${BASE} AS runtime
ENV DENO_DIR=/app/.deno \
  DATA_DIR=/data \
  PORT=8000 \
  NO_COLOR=1
RUN groupadd --system --gid 10001 breadboard \
  && useradd --system --uid 10001 --gid breadboard --home-dir /app --shell /usr/sbin/nologin breadboard \
  && mkdir -p /data /app/.deno && chown -R breadboard:breadboard /data /app
WORKDIR /app
COPY --from=deps /usr/local/bin/deno-bin /usr/local/bin/deno
COPY --from=build --chown=breadboard:breadboard /app /app
USER breadboard
ARG DENO_TLS_CA_STORE=mozilla,system
# Type-check and cache the module graph once, at build time, so start-up does no work it could have done here.
RUN deno cache main.ts web.ts
VOLUME ["/data"]
EXPOSE 8000
# Liveness only: readiness (store, KV, bus) belongs to the orchestrator's probe of /api/v1/health/ready.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/api/v1/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["deno", "run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "--allow-ffi", "--allow-sys", "main.ts"]
