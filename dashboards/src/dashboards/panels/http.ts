import type { MonitoringConfig } from "../../config.ts";
import { errorRatio, latencyQuantile, quantile, rate, sum } from "../../promql.ts";
import type { PanelSpec } from "../spec.ts";
import { apiMatchers } from "../variables.ts";
import { ceiling, latencyLines, pct, R } from "./common.ts";

/** Traffic, errors and latency of the HTTP API. */

export function requestRateByRoute(config: MonitoringConfig): PanelSpec {
  return {
    title: "Requests per second by route",
    description: "Every answered request, by route pattern (unmatched paths count as `unmatched`).",
    type: "timeseries",
    unit: "reqps",
    source: "service",
    queries: [
      { expr: sum(["route"], rate("http_requests_total", apiMatchers(config), R)), legend: "{{route}}" },
    ],
  };
}

export function responsesByStatus(config: MonitoringConfig): PanelSpec {
  return {
    title: "Responses per second by status",
    description: "4xx are the callers' mistakes; only 5xx spend the error budget.",
    type: "timeseries",
    unit: "reqps",
    source: "service",
    queries: [
      { expr: sum(["status"], rate("http_requests_total", apiMatchers(config), R)), legend: "{{status}}" },
    ],
  };
}

export function errorRatioPanel(config: MonitoringConfig): PanelSpec {
  const budget = 1 - config.slo.availability;
  return {
    title: `5xx ratio against the ${pct(budget)} budget`,
    description: `Share of /v1 requests answered with a 5xx; the line is the error budget of the ${pct(config.slo.availability)} availability objective.`,
    type: "timeseries",
    unit: "percentunit",
    min: 0,
    source: "service",
    thresholds: ceiling(Number(budget.toPrecision(12))),
    queries: [
      { expr: errorRatio(config, apiMatchers(config), [], R), legend: "all /v1 routes" },
      { expr: errorRatio(config, apiMatchers(config), ["route"], R), legend: "{{route}}" },
    ],
  };
}

export function latencyPercentiles(config: MonitoringConfig): PanelSpec {
  return {
    title: "Latency P50 / P95 / P99 of /v1 routes",
    description: "All /v1 routes together; the lines are the P95 (300 ms) and P99 (500 ms) objectives.",
    type: "timeseries",
    unit: "s",
    min: 0,
    source: "service",
    thresholds: latencyLines(config),
    queries: [0.5, 0.95, 0.99].map((q) => ({
      expr: latencyQuantile(config, q, apiMatchers(config), [], R),
      legend: `P${Math.round(q * 100)}`,
    })),
  };
}

export function latencyByRoute(config: MonitoringConfig, q: number): PanelSpec {
  const p = `P${Math.round(q * 100)}`;
  return {
    title: `${p} latency by route`,
    description: `${p} per route pattern; the lines are the P95 (300 ms) and P99 (500 ms) objectives.`,
    type: "timeseries",
    unit: "s",
    min: 0,
    source: "service",
    thresholds: latencyLines(config),
    queries: [
      {
        expr: quantile(q, "http_request_duration_seconds", apiMatchers(config), ["route"], R),
        legend: "{{route}}",
      },
    ],
  };
}
