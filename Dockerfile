# Build stage: all dependencies, to build the console into admin/dist.
FROM node:20-bookworm-slim AS console
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run build:admin

# Runtime: production dependencies only, the sources (run by tsx) and the built console.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts
COPY . .
COPY --from=console /app/admin/dist admin/dist
ENV NODE_ENV=production
EXPOSE 3000
ENTRYPOINT ["node", "bin/hub.js"]
CMD ["start"]
