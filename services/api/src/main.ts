import { serve } from "@hono/node-server";
import { createApp } from "./app.ts";
import { StartupError, startServices } from "./bootstrap.ts";
import { parseConfig } from "./config.ts";
import { createLogger } from "./observability/logger.ts";
import { startTracing } from "./observability/tracing.ts";

const parsed = parseConfig(process.env);
if (!parsed.ok) {
  console.error(`canopy: invalid configuration\n${parsed.problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
const { config } = parsed;
const logger = createLogger(config.logLevel);
// Registered before the server listens, so every request is traced from the first.
const tracing = await startTracing(config, logger);
if (config.tracing.endpoint) logger.info({ otlp: new URL(config.tracing.endpoint).host }, "exporting traces");

const started = await startServices(config, logger).catch((err: unknown) => {
  if (err instanceof StartupError) {
    console.error(`canopy: ${err.message}`);
    process.exit(1);
  }
  throw err;
});
const app = createApp(started.services, { slowRequestMs: config.database.slowQueryMs });

const server = serve({ fetch: app.fetch, port: config.port }, (info) => {
  logger.info({ port: info.port }, "listening");
  if (started.devToken) {
    console.log(
      `\nCanopy is running on http://localhost:${info.port} (embedded database in ${config.database.dataDir}).\n` +
        `Development admin token (valid 30 days):\n\n  export TOKEN=${started.devToken}\n`,
    );
  }
});

/**
 * SIGTERM: readyz turns 503 at once, the server stops accepting connections and lets
 * in-flight requests finish, then the pools close. A hard deadline bounds the whole drain.
 */
let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down");
  const deadline = setTimeout(() => {
    logger.error("shutdown deadline passed; exiting with requests still open");
    process.exit(1);
  }, config.shutdownTimeoutMs);
  deadline.unref();
  started.services.accepting = () => false;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await started.close();
  // Spans still buffered go out now; an unreachable collector must not hold up the exit for long.
  if (tracing) {
    await Promise.race([
      tracing
        .shutdown()
        .catch((err: unknown) => logger.warn({ err: (err as Error).message }, "trace flush failed")),
      new Promise((resolve) => setTimeout(resolve, 2_000).unref()),
    ]);
  }
  logger.info("stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
