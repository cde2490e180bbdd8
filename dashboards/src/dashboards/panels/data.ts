import type { MonitoringConfig } from "../../config.ts";
import {
  aggregate,
  cacheHitRatio,
  layerHitRatio,
  poolUtilization,
  quantile,
  rate,
  selector,
  sum,
} from "../../promql.ts";
import type { PanelSpec } from "../spec.ts";
import { apiMatchers } from "../variables.ts";
import { ceiling, floor, pct, R } from "./common.ts";

/** Caches, statements, pools and replicas. */

export function cacheHitRatioByLayer(config: MonitoringConfig): PanelSpec {
  return {
    title: `Cache hit ratio by cache and layer against ${pct(config.slo.cacheHitRatio)}`,
    description:
      "Hits over look-ups in each layer: l1 in process, l2 in Redis (which only sees l1 misses, so its own ratio runs lower).",
    type: "timeseries",
    unit: "percentunit",
    min: 0,
    max: 1,
    source: "service",
    needs: "cache",
    thresholds: floor(config.slo.cacheHitRatio),
    queries: [
      { expr: layerHitRatio(apiMatchers(config), ["cache", "layer"], R), legend: "{{cache}} {{layer}}" },
    ],
  };
}

export function cacheHitRatioByCache(config: MonitoringConfig): PanelSpec {
  return {
    title: `Cache hit ratio by cache (the SLO) against ${pct(config.slo.cacheHitRatio)}`,
    description: "Look-ups answered by any layer over all look-ups: what the cache alerts measure.",
    type: "timeseries",
    unit: "percentunit",
    min: 0,
    max: 1,
    source: "service",
    needs: "cache",
    thresholds: floor(config.slo.cacheHitRatio),
    queries: [{ expr: cacheHitRatio(apiMatchers(config), ["cache"], R), legend: "{{cache}}" }],
  };
}

export function statementLatencyByTarget(config: MonitoringConfig): PanelSpec {
  return {
    title: "Statement latency P95 / P99 by target",
    description: "Every SQL statement, timed by the service; the line is SLOW_QUERY_MS.",
    type: "timeseries",
    unit: "s",
    min: 0,
    source: "service",
    thresholds: ceiling(config.slowQuerySeconds),
    queries: [0.95, 0.99].map((q) => ({
      expr: quantile(q, "canopy_db_query_duration_seconds", apiMatchers(config), ["target"], R),
      legend: `P${Math.round(q * 100)} {{target}}`,
    })),
  };
}

export function slowStatements(config: MonitoringConfig, ...extra: string[]): PanelSpec {
  return {
    title: "Slow statements per second by name",
    description: `Statements slower than SLOW_QUERY_MS, by fixed statement name; the line is the burst alert's ${config.slowQueryBurstPerSecond}/s.`,
    type: "timeseries",
    unit: "ops",
    min: 0,
    source: "service",
    thresholds: ceiling(config.slowQueryBurstPerSecond),
    queries: [
      {
        expr: sum(
          ["query", "target"],
          rate("canopy_db_slow_queries_total", apiMatchers(config, ...extra), R),
        ),
        legend: "{{query}} ({{target}})",
      },
    ],
  };
}

export function poolUtilizationPanel(config: MonitoringConfig): PanelSpec {
  return {
    title: "Pool utilisation (in use / open)",
    description:
      "Connections in use over connections open, per instance and target. The pool opens connections up to DB_POOL_MAX on demand, so waiting clients are the saturation signal.",
    type: "timeseries",
    unit: "percentunit",
    min: 0,
    max: 1,
    source: "service",
    thresholds: ceiling(0.9),
    queries: [
      {
        expr: poolUtilization(apiMatchers(config), ["instance", "target"]),
        legend: "{{instance}} {{target}}",
      },
    ],
  };
}

export function poolWaiting(config: MonitoringConfig): PanelSpec {
  return {
    title: "Clients waiting for a connection",
    description: "Queries queued because every connection of the pool is busy.",
    type: "timeseries",
    unit: "short",
    min: 0,
    source: "service",
    thresholds: ceiling(config.poolWaitingClients),
    queries: [
      {
        expr: sum(
          ["instance", "target"],
          `canopy_db_pool_connections${selector(...apiMatchers(config, 'state="waiting"'))}`,
        ),
        legend: "{{instance}} {{target}}",
      },
    ],
  };
}

export function replicaLag(config: MonitoringConfig): PanelSpec {
  return {
    title: `Replica lag against the ${config.stalenessBoundSeconds} s staleness bound`,
    description:
      "Replay lag of each read replica as the API measures it; beyond the bound its reads go to the primary.",
    type: "timeseries",
    unit: "s",
    min: 0,
    source: "service",
    needs: "replica",
    thresholds: ceiling(config.stalenessBoundSeconds),
    queries: [
      {
        expr: aggregate("max", ["replica"], `canopy_replica_lag_seconds${selector(...apiMatchers(config))}`),
        legend: "{{replica}}",
      },
    ],
  };
}
