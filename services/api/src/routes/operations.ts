import { sql } from "drizzle-orm";
import { Hono } from "hono";
import type { Database } from "../db/database.ts";
import type { AppEnv } from "../services.ts";

const pingTimeoutMs = 2_000;

async function primaryAnswers(db: Database): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), pingTimeoutMs);
  });
  const ping = db.primary.rows("health.ping", sql`SELECT 1 AS ok`).then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Probes and scrape targets: no token needed. */
export const operationRoutes = new Hono<AppEnv>()
  .get("/healthz", (c) => c.json({ status: "ok" }))
  .get("/readyz", async (c) => {
    const { db, accepting, degraded } = c.get("services");
    c.header("Cache-Control", "no-store");
    if (!accepting()) return c.json({ status: "shutting_down", degraded: [] }, 503);
    if (!(await primaryAnswers(db))) return c.json({ status: "unavailable", degraded: ["primary"] }, 503);
    return c.json({ status: "ok", degraded: degraded() });
  })
  .get("/metrics", async (c) => {
    const { registry } = c.get("services").metrics;
    return c.body(await registry.metrics(), 200, { "Content-Type": registry.contentType });
  });
