# Worker image for docker-compose deployments (untested here: no Docker engine on the build machines).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund
COPY . .
ENV NODE_ENV=production
ENTRYPOINT ["node", "bin/dst-synth.js"]
CMD ["worker", "--queues", "data,llm,gpu"]
