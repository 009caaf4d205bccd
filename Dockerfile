# fraudflow workers and ingest: one image, the subcommand chosen by the compose service's `command`.
#   docker build -t fraudflow:local .
#   docker run --rm fraudflow:local --help

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && node dist/src/cli/main.js bundle-workflows dist/workflow-bundle.js

FROM node:20-slim
ENV NODE_ENV=production
# Workers load the workflow bundle built above instead of running webpack at start (less memory, faster start).
ENV WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js
# V8 settings of every fraudflow process (processNodeOptions in src/worker-set/runtime.ts).
ENV NODE_OPTIONS=--max-semi-space-size=4
WORKDIR /app
COPY package.json package-lock.json ./
# Runtime dependencies only.
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["--help"]
