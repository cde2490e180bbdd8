import type { MonitoringConfig } from "./config.ts";

/** `{a="1", b=~"2"}` from matchers; empty ones are skipped. */
export function selector(...matchers: (string | undefined)[]): string {
  return `{${matchers.filter((m): m is string => Boolean(m)).join(", ")}}`;
}

/** `op by (a, b) (expr)`, or `op(expr)` with no labels. */
export function aggregate(op: "sum" | "max" | "min" | "avg" | "count", by: string[], expr: string): string {
  return by.length === 0 ? `${op}(${expr})` : `${op} by (${by.join(", ")}) (${expr})`;
}

export const sum = (by: string[], expr: string) => aggregate("sum", by, expr);

export function rate(metric: string, matchers: string[], window: string): string {
  return `rate(${metric}${selector(...matchers)}[${window}])`;
}

/**
 * numerator / denominator, where a numerator with no series (no 5xx yet, no hits yet) counts
 * as zero instead of making the whole ratio vanish: an outage that only ever answered 503
 * must still show (and alert) as 100% errors.
 */
export function ratioOrZero(numerator: string, denominator: string): string {
  return `(${numerator} or ${denominator} * 0) / ${denominator}`;
}

/** Share of SLO requests (the /v1 routes) answered with a 5xx. */
export function errorRatio(config: MonitoringConfig, matchers: string[], by: string[], window: string) {
  const slo = [...matchers, `route=~"${config.sloRoutes}"`];
  return ratioOrZero(
    sum(by, rate("http_requests_total", [...slo, 'status=~"5.."'], window)),
    sum(by, rate("http_requests_total", slo, window)),
  );
}

/**
 * Share of cache look-ups answered by some layer: hits in l1 or l2 over l1 look-ups. Every
 * look-up starts at l1 and reaches l2 only after an l1 miss, so l1 look-ups count them all.
 */
export function cacheHitRatio(matchers: string[], by: string[], window: string) {
  return ratioOrZero(
    sum(by, rate("canopy_cache_requests_total", [...matchers, 'result="hit"'], window)),
    sum(by, rate("canopy_cache_requests_total", [...matchers, 'layer="l1"'], window)),
  );
}

/** Hits over look-ups of each layer on its own (by should include `layer`). */
export function layerHitRatio(matchers: string[], by: string[], window: string) {
  return ratioOrZero(
    sum(by, rate("canopy_cache_requests_total", [...matchers, 'result="hit"'], window)),
    sum(by, rate("canopy_cache_requests_total", matchers, window)),
  );
}

/** A quantile of a prom-client histogram, per group. */
export function quantile(q: number, histogram: string, matchers: string[], by: string[], window: string) {
  return `histogram_quantile(${q}, ${sum(["le", ...by], rate(`${histogram}_bucket`, matchers, window))})`;
}

/** Latency of the SLO routes. */
export function latencyQuantile(
  config: MonitoringConfig,
  q: number,
  matchers: string[],
  by: string[],
  window: string,
) {
  return quantile(
    q,
    "http_request_duration_seconds",
    [...matchers, `route=~"${config.sloRoutes}"`],
    by,
    window,
  );
}

/** Pool connections in use over connections open. */
export function poolUtilization(matchers: string[], by: string[]) {
  const state = (s: string) => sum(by, `canopy_db_pool_connections${selector(...matchers, `state="${s}"`)}`);
  return `(${state("total")} - ${state("idle")}) / ${state("total")}`;
}
