import { context, type Span, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { withRequest } from "../observability/request-context.ts";
import { callerTraceId, extractContext, serverSpan, traceIdOf, tracer } from "../observability/tracing.ts";
import type { AppEnv } from "../services.ts";
import { header } from "./headers.ts";

/** The route pattern, never the raw path: label values stay bounded. */
export function routeLabel(c: Parameters<MiddlewareHandler>[0]): string {
  const pattern = routePath(c, -1);
  return pattern === "" || pattern.endsWith("*") ? "unmatched" : pattern;
}

/**
 * One wide log line, the HTTP metrics and a server span per request. Writes, errors and slow
 * requests log at info; every other request at debug, so production logs stay quiet under read
 * load. Every line of the request carries its request id and, when it has one, its trace id.
 */
export function observe(slowMs: number): MiddlewareHandler<AppEnv> {
  return async function observe(c, next) {
    const started = performance.now();
    const requestId = c.get("requestId");
    const { span, parent, traceId } = openRequestSpan(c);
    let route = "unmatched";
    try {
      // Statements and Redis calls nest under the span; a span in no trace needs no context.
      await withRequest({ requestId, traceId }, () =>
        traceId === undefined ? next() : context.with(trace.setSpan(parent, span), next),
      );
    } finally {
      // The route pattern is known only once routing is done.
      route = routeLabel(c);
      if (span.isRecording()) endRequestSpan(span, c.req.method, route, c.res.status, requestId);
      span.end();
    }
    recordRequest(c, route, c.res, started, slowMs);
  };
}

/**
 * The request's server span, child of the caller's traceparent if any; without an SDK it only
 * carries the caller's ids. Sets the request's trace id for its log lines.
 */
function openRequestSpan(c: Context<AppEnv>) {
  const parent = extractContext((name) => header(c, name));
  const span = tracer.startSpan(c.req.method, serverSpan, parent);
  const traceId = traceIdOf(span);
  c.set("traceId", traceId);
  return { span, parent, traceId };
}

/** The HTTP metrics and, at its level, the log line of a request answered with `res`. */
export function recordRequest(
  c: Context<AppEnv>,
  route: string,
  res: Response,
  started: number,
  slowMs: number,
) {
  const seconds = (performance.now() - started) / 1000;
  const { logger, metrics } = c.get("services");
  const method = c.req.method;
  const status = res.status;
  const labels = { method, route, status: String(status) };
  metrics.httpDuration.observe(labels, seconds);
  metrics.countRequest(method, route, labels.status);
  const write = method !== "GET" && method !== "HEAD" && route !== "/v1/check/batch";
  const level =
    status >= 500 ? "error" : write || status >= 400 || seconds * 1000 >= slowMs ? "info" : "debug";
  if (!logger.isLevelEnabled(level)) return;
  logger[level](
    {
      ...requestFields(c),
      method,
      route,
      status,
      durationMs: Math.round(seconds * 100_000) / 100,
      revision: res.headers.get("canopy-revision") ?? undefined,
      subject: c.get("caller")?.subject,
    },
    "request",
  );
}

/**
 * What ties a log line to its request: its id and, when it has one, its trace (read from the
 * caller's traceparent when no span was opened: the warm path opens none).
 */
export const requestFields = (c: Context<AppEnv>) => ({
  requestId: c.get("requestId"),
  traceId: c.get("traceId") ?? callerTraceId((name) => header(c, name)),
});

function endRequestSpan(span: Span, method: string, route: string, status: number, requestId: string) {
  const matched = route !== "unmatched";
  span.updateName(matched ? `${method} ${route}` : method);
  span.setAttributes({
    "http.request.method": method,
    ...(matched ? { "http.route": route } : {}),
    "http.response.status_code": status,
    "canopy.request_id": requestId,
  });
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
}
