# syntax=docker/dockerfile:1
# The Estate Sentinel service (docker-compose.yml; docs/deploy.md).

# Build: every dependency (better-sqlite3 is native: compiled here when no prebuilt binary
# fits, hence the build tools), the TypeScript and the web UI; then only the production
# dependencies are kept, native module included.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && { test -f dist/ui/index.html || npm run --if-present build:ui; } \
 && npm prune --omit=dev --no-audit --no-fund

# Runtime: no compilers, no dev dependencies, not root. The sources of config/ and simulators/
# come along for `npm run simulate` (the compose profile "simulators" runs it with tsx).
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data \
    CONFIG=/app/config/estate.yaml
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/config ./config
COPY --from=build /app/simulators ./simulators
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# Ready = it can serve: the operational store usable, the spool not full (docs/operations.md); the
# broker or InfluxDB away does not make it unready. curl is not in slim images.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--max-semi-space-size=8", "dist/main.js"]
