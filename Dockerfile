# cutover worker + API. Temporal itself runs elsewhere (see docker-compose.yml),
# so the embedded dev server and its binaries are not part of this image.
# The same image runs the Kong Admin API freeze router with another command:
#   node --import tsx src/kongAdminRouter/main.ts   (listens on 8001)
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json cutover.config.yaml ./
COPY src ./src
USER node
EXPOSE 8080 8001
CMD ["node", "--import", "tsx", "src/main.ts"]
