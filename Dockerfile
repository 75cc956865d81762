# cutover's production entries, one image: the worker (the default command),
#   node --import tsx src/bin/api.ts               (the API, listens on 8080)
#   node --import tsx src/bin/kongAdminRouter.ts   (the Kong Admin API freeze router, on 8001)
# Temporal itself runs elsewhere (see docker-compose.yml): the embedded default
# (npm start: dev server, Prometheus, sandboxes) is not part of this image.


# The web console (/ui): built with the development dependencies (Vite, React) in a stage of its
# own; the image keeps only its files (dist/console).
FROM node:20-trixie-slim AS console
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY console ./console
COPY src/domain ./src/domain
COPY src/view ./src/view
RUN npm run build:console

FROM node:20-trixie-slim
# pg_dump for the Kong backup before 'migrations up'. pg_dump refuses a server
# of a later major version than its own; 17's dumps servers from 9.2 to 17.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-17 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json cutover.config.yaml ./
COPY src ./src
COPY --from=console /build/dist/console ./dist/console
# Where the worker keeps the backups (a volume in docker-compose.yml and deploy/kubernetes):
# only the node user reads them (they hold Kong's certificate keys).
RUN install -d -o node -g node -m 0700 /var/lib/cutover/backups
ENV CUTOVER_BACKUP_DIR=/var/lib/cutover/backups
USER node
EXPOSE 8080 8001
CMD ["node", "--import", "tsx", "src/bin/worker.ts"]
