import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { AppEnv } from "../services.ts";

/** The route pattern, never the raw path: label values stay bounded. */
export function routeLabel(c: Parameters<MiddlewareHandler>[0]): string {
  const pattern = routePath(c, -1);
  return pattern === "" || pattern.endsWith("*") ? "unmatched" : pattern;
}

/**
 * One wide log line and the HTTP metrics per request. Writes, errors and slow requests log
 * at info; every other request at debug, so production logs stay quiet under read load.
 */
export function observe(slowMs: number): MiddlewareHandler<AppEnv> {
  return async function observe(c, next) {
    const started = performance.now();
    const { logger, metrics } = c.var.services;
    c.set("logger", logger.child({ requestId: c.var.requestId }));
    await next();
    const seconds = (performance.now() - started) / 1000;
    const labels = { method: c.req.method, route: routeLabel(c), status: String(c.res.status) };
    metrics.httpDuration.observe(labels, seconds);
    metrics.httpRequests.inc(labels);
    const write = c.req.method !== "GET" && c.req.method !== "HEAD" && c.req.path !== "/v1/check/batch";
    const status = c.res.status;
    const level =
      status >= 500 ? "error" : write || status >= 400 || seconds * 1000 >= slowMs ? "info" : "debug";
    if (!c.var.logger.isLevelEnabled(level)) return;
    c.var.logger[level](
      {
        method: c.req.method,
        route: labels.route,
        status,
        durationMs: Math.round(seconds * 100_000) / 100,
        revision: c.res.headers.get("canopy-revision") ?? undefined,
        subject: c.var.caller?.subject,
      },
      "request",
    );
  };
}
