# syntax=docker/dockerfile:1
# The Estate Sentinel service (docker-compose.yml; docs/deploy.md), on Node 24 LTS.

# Build: every dependency (better-sqlite3 is native: compiled here when no prebuilt binary
# fits, hence the build tools), then `npm run build`: the TypeScript into dist/ (tsc) and the
# web UI into dist/ui (Vite). `npm ci` runs the prepare script before the sources are copied;
# it has nothing to build yet. Then the production dependencies alone, installed as an
# operator would, `npm ci --omit=dev`, on the built tree (its prepare finds the build fresh).
FROM node:24-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY scripts/ensure-build.mjs ./scripts/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && test -f dist/main.js && test -f dist/ui/index.html \
 && rm -rf node_modules \
 && npm ci --omit=dev --no-audit --no-fund \
 && test ! -e node_modules/typescript && test ! -e node_modules/vite && test ! -e node_modules/tsx

# Runtime: no compilers, no dev dependencies, no sources, not root. The compiled service
# (dist/, the web UI in dist/ui), the demo estate file, the simulators' scenarios (YAML) for
# `npm run simulate` (compiled too: the compose profile "simulators" runs it).
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data \
    CONFIG=/app/config/estate.yaml
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/scripts/ensure-build.mjs ./scripts/
COPY --from=build /app/config/estate.yaml ./config/
COPY --from=build /app/simulators/scenarios ./simulators/scenarios
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# Ready = it can serve: the operational store usable, the spool not full (docs/interfaces.md#probes-and-metrics);
# the broker or InfluxDB away leave it healthy. curl is not in slim images.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# What `npm start` runs, without npm's process in between (PID 1 gets the runtime's SIGTERM).
CMD ["node", "--max-semi-space-size=8", "dist/main.js"]
