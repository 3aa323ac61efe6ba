# syntax=docker/dockerfile:1
# Manticore Orchestrator image: one image, every subcommand (controller, agent, job, mctl, source-feed)
# behind a small dispatcher (docker/entrypoint.sh).
#
#   docker build -t manticore-orchestrator .                      # runtime (default target): node:20-slim
#   docker build --target agent -t manticore-orchestrator:agent . # the agent sidecar: Manticore's tools + node
#   docker run --rm manticore-orchestrator controller --help
#
# Stages: build (dev dependencies, tsc + UI bundle), prod-deps (production node_modules only),
# agent (Manticore image + node + the app: the agent runs indexer and manticore-backup itself),
# runtime (node:20-slim + the app; last, so it is the default target).

ARG NODE_IMAGE=node:20-slim
ARG MANTICORE_IMAGE=manticoresearch/manticore:25.0.0

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY schemas ./schemas
COPY src ./src
COPY test ./test
COPY bench ./bench
COPY examples ./examples
RUN npm run build

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---------------------------------------------------------------------------------------------
# The agent sidecar: searchd's tools (indexer, manticore-backup) must be in the agent's own container.
FROM ${MANTICORE_IMAGE} AS agent
COPY --from=build /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=prod-deps /src/node_modules ./node_modules
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/schemas ./schemas
COPY docker/entrypoint.sh /usr/local/bin/mo-entrypoint
RUN chmod 0755 /usr/local/bin/mo-entrypoint
ENV NODE_ENV=production
# the same user as searchd: both containers read and write /var/lib/manticore
USER manticore
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["/usr/local/bin/mo-entrypoint", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/mo-entrypoint"]
CMD ["agent"]

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
COPY --from=prod-deps --chown=node:node /src/node_modules ./node_modules
COPY --from=build --chown=node:node /src/package.json ./package.json
COPY --from=build --chown=node:node /src/dist/src ./dist/src
COPY --from=build --chown=node:node /src/dist/ui ./dist/ui
COPY --from=build --chown=node:node /src/schemas ./schemas
COPY --from=build --chown=node:node /src/examples ./examples
COPY docker/entrypoint.sh /usr/local/bin/mo-entrypoint
RUN chmod 0755 /usr/local/bin/mo-entrypoint && mkdir -p /var/lib/orchestrator && chown node:node /var/lib/orchestrator
ENV NODE_ENV=production \
    ORCHESTRATOR_DATA_DIR=/var/lib/orchestrator \
    ORCHESTRATOR_LISTEN=:8080
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["/usr/local/bin/mo-entrypoint", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/mo-entrypoint"]
CMD ["controller"]
