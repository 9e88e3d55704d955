# ln-cds: CDS Hooks 2.0 service. Multi-stage: build with compilers (better-sqlite3 builds from
# source), run with production dependencies only, as a non-root user.

FROM node:20-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY cds-services ./cds-services
COPY fixtures ./fixtures
RUN npm run build
# The demo (fixtures, the demo FHIR server and its Medplum router) only when asked for:
# `docker build --build-arg DEMO=true .`. `serve` and `monitor` never load it.
ARG DEMO=false
RUN if [ "$DEMO" != "true" ]; then rm -rf dist/fixtures dist/src/fhir-server dist/src/pages/demo-patients.js; fi

# Production dependencies, native module compiled here where the compilers are.
FROM node:20-slim AS deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
ARG DEMO=false
RUN npm ci --omit=dev \
 && if [ "$DEMO" != "true" ]; then rm -rf node_modules/@medplum; fi \
 && npm cache clean --force

FROM node:20-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    SQLITE_PATH=/app/data/ln-cds.sqlite
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /app/data && chown -R node:node /app/data
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/main.js", "serve"]
