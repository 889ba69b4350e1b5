# One image definition for every service. From the repository root:
#   docker build --build-arg SERVICE_DIR=services/permit-ingest -t sicantik/permit-ingest .
# SERVICE_DIR is services/<name> or tools/provider-simulator; the workspace package
# is @sicantik/<name>.
ARG SERVICE_DIR=services/permit-ingest

FROM node:20-bookworm-slim AS build
ARG SERVICE_DIR
WORKDIR /app
COPY package.json package-lock.json turbo.json tsconfig.base.json tsconfig.json ./
COPY packages ./packages
COPY services ./services
COPY tools/provider-simulator ./tools/provider-simulator
COPY schemas ./schemas
RUN npm install --no-audit --no-fund \
 && npx turbo run build --filter="@sicantik/$(basename "$SERVICE_DIR")..." \
 && npm prune --omit=dev

FROM node:20-bookworm-slim
ARG SERVICE_DIR
ENV NODE_ENV=production SCHEMAS_DIR=/app/schemas
WORKDIR /app
COPY --from=build /app /app
USER node
WORKDIR /app/${SERVICE_DIR}
CMD ["node", "dist/main.js"]
