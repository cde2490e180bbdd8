# syntax=docker/dockerfile:1
# Two images from one build: the API (default target) and the operator.
#   docker build -t canopy-api .                       (or --target api)
#   docker build -t canopy-operator --target operator .
# Each is `pnpm deploy --prod` of one workspace package (production dependencies only), run as
# the non-root `node` user (uid 1000). Nothing is written outside /tmp, so a read-only root
# filesystem works with an emptyDir there. No HEALTHCHECK: Kubernetes probes /healthz and /readyz.

ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
RUN npm install --global pnpm@10.34.9
WORKDIR /src
# Dependencies first, from the lockfile alone, so source edits reuse this layer.
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
RUN pnpm fetch --prod
COPY services/api/package.json services/api/
COPY operator/package.json operator/
COPY services/api/src services/api/src
COPY operator/src operator/src
COPY migrations migrations
COPY charts/canopy/files charts/canopy/files
RUN pnpm --filter @canopy/api deploy --legacy --prod --prefer-offline /out/api \
 && pnpm --filter @canopy/operator deploy --legacy --prod --prefer-offline /out/operator

FROM ${NODE_IMAGE} AS operator
ENV NODE_ENV=production
# The layout of the repository: the operator reads charts/canopy/files (the generated alerts and dashboards).
WORKDIR /app/operator
COPY --from=build --chown=root:root /out/operator /app/operator
COPY --from=build --chown=root:root /src/charts/canopy/files /app/charts/canopy/files
USER 1000:1000
EXPOSE 8081
CMD ["node", "--import", "tsx", "src/main.ts"]

FROM ${NODE_IMAGE} AS api
ENV NODE_ENV=production
# The layout of the repository: services/api/src/db/migrations.ts finds ../../../../migrations.
WORKDIR /app/services/api
COPY --from=build --chown=root:root /out/api /app/services/api
COPY --from=build --chown=root:root /src/migrations /app/migrations
USER 1000:1000
EXPOSE 8080
# The migration Job runs the CLI from the same image: node --import tsx src/cli.ts migrate
CMD ["node", "--import", "tsx", "src/main.ts"]
