# Eddy server image: `sp serve` with the API on 8470, mongosh's sp on 27117 and room for OTLP receivers (4318).
#
# Stage 1 installs production dependencies only; stage 2 holds them, the sources (Node 24 runs the
# TypeScript directly) and nothing else, and runs as the unprivileged `node` user.
#
#   docker build -t eddy .
#   docker run -p 8470:8470 -p 27117:27117 -p 4318:4318 -v eddy-data:/data eddy
#
# Then deploy the OTLP connection and processors from the host (examples/otlp; the receiver must
# listen on 0.0.0.0 inside the container, which requires bearerTokens or apiKeys):
#   sp workspaces connections create --dir examples/otlp --server http://127.0.0.1:8470
#
# Verified without a Docker engine (none on the development machines), on 2026-12-06: the runtime
# stage's file set was reproduced in a temporary directory (`npm ci --omit=dev --ignore-scripts`, then
# bin/, src/, package.json), `sp serve` started from it under Node 24 as an unprivileged user (nobody)
# with EDDY_DATA_DIR on a fresh folder (created 0700, files 0600) and /health answered 200. Not verified:
# `docker build` itself, the HEALTHCHECK line, and an OTLP export into that set-up (docs/otlp.md).

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error

FROM node:24-slim AS runtime
ENV NODE_ENV=production \
    EDDY_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY examples ./examples
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8470 27117 4318
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8470/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/sp.js"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8470"]
