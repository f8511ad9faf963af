# writegate gateway image. OPA is not inside: run it beside the gateway
# (a sidecar in the same pod, or a service) and point opa.url at it.
#
#   docker build -t writegate .
#   docker run -v $PWD/writegate.yaml:/etc/writegate/config.yaml -p 8443:8443 writegate
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
COPY routes ./routes
COPY app ./app
COPY cli ./cli
# Simulators (sim/) and benchmarks (bench/) are not the gateway: tsconfig.json builds neither into dist/.
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# projectRoot() finds the app by package.json beside tools/opa/go.mod.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY tools/opa/go.mod ./tools/opa/go.mod
COPY policies ./policies
USER node
EXPOSE 8443
ENTRYPOINT ["node", "dist/cli/index.js"]
CMD ["serve", "--config", "/etc/writegate/config.yaml"]
