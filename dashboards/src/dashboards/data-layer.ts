import type { MonitoringConfig } from "../config.ts";
import { aggregate, quantile, rate, selector, sum } from "../promql.ts";
import {
  cacheHitRatioByLayer,
  poolUtilizationPanel,
  poolWaiting,
  replicaLag,
  slowStatements,
} from "./panels/index.ts";
import type { DashboardSpec, PanelSpec } from "./spec.ts";
import { apiMatchers, scopeVariables } from "./variables.ts";

const R = "$__rate_interval";
const statement = 'query=~"$query"';

function statementPanel(
  config: MonitoringConfig,
  title: string,
  description: string,
  unit: string,
  expr: string,
): PanelSpec {
  return {
    title,
    description,
    type: "timeseries",
    unit,
    min: 0,
    source: "service",
    queries: [{ expr, legend: "{{query}} ({{target}})" }],
    ...(unit === "s"
      ? { thresholds: { base: "green", steps: [{ value: config.slowQuerySeconds, color: "red" }] } }
      : {}),
  };
}

/** Drill-down behind the overview's database and cache rows: per statement, pool, replicas, caches. */
export function dataLayer(config: MonitoringConfig): DashboardSpec {
  const m = apiMatchers(config, statement);
  const byStatement = ["query", "target"];
  const duration = "canopy_db_query_duration_seconds";
  return {
    uid: "canopy-data-layer",
    title: "Canopy / Data layer",
    description: "Canopy's statements, connection pools, read replicas and caches, statement by statement.",
    tags: ["canopy"],
    variables: [
      ...scopeVariables(config),
      {
        name: "query",
        label: "Statement",
        description: "Fixed statement names, as in slow-query logs and traces",
        metric: `${duration}_count${selector(...apiMatchers(config))}`,
        labelName: "query",
      },
    ],
    rows: [
      {
        title: "Statements",
        panels: [
          statementPanel(
            config,
            "Statements per second",
            "Executions of each named statement, by target.",
            "ops",
            sum(byStatement, rate(`${duration}_count`, m, R)),
          ),
          statementPanel(
            config,
            "P95 by statement",
            "The line is SLOW_QUERY_MS.",
            "s",
            quantile(0.95, duration, m, byStatement, R),
          ),
          statementPanel(
            config,
            "P99 by statement",
            "The line is SLOW_QUERY_MS.",
            "s",
            quantile(0.99, duration, m, byStatement, R),
          ),
          statementPanel(
            config,
            "Mean latency by statement",
            "Time per execution, averaged.",
            "s",
            `${sum(byStatement, rate(`${duration}_sum`, m, R))} / ${sum(byStatement, rate(`${duration}_count`, m, R))}`,
          ),
          statementPanel(
            config,
            "Database time by statement",
            "Seconds spent per second: how many connections each statement keeps busy on average.",
            "short",
            sum(byStatement, rate(`${duration}_sum`, m, R)),
          ),
          slowStatements(config, statement),
          statementPanel(
            config,
            "Slow share by statement",
            "Executions over SLOW_QUERY_MS over all executions.",
            "percentunit",
            `${sum(byStatement, rate("canopy_db_slow_queries_total", m, R))} / ${sum(byStatement, rate(`${duration}_count`, m, R))}`,
          ),
          {
            title: "Statements per second by target",
            description: "How reads split between the primary and the replicas.",
            type: "timeseries",
            unit: "ops",
            min: 0,
            source: "service",
            queries: [{ expr: sum(["target"], rate(`${duration}_count`, m, R)), legend: "{{target}}" }],
          },
        ],
      },
      {
        title: "Pools and replicas",
        panels: [
          {
            title: "Pool connections by state",
            description: "Open (total), idle and waiting clients per instance and target.",
            type: "timeseries",
            unit: "short",
            min: 0,
            source: "service",
            queries: [
              {
                expr: sum(
                  ["instance", "target", "state"],
                  `canopy_db_pool_connections${selector(...apiMatchers(config))}`,
                ),
                legend: "{{instance}} {{target}} {{state}}",
              },
            ],
          },
          poolUtilizationPanel(config),
          poolWaiting(config),
          replicaLag(config),
        ],
      },
      {
        title: "Caches",
        panels: [
          cacheHitRatioByLayer(config),
          {
            title: "Cache look-ups per second",
            description: "By cache, layer and result.",
            type: "timeseries",
            unit: "ops",
            min: 0,
            source: "service",
            needs: "cache",
            queries: [
              {
                expr: sum(
                  ["cache", "layer", "result"],
                  rate("canopy_cache_requests_total", apiMatchers(config), R),
                ),
                legend: "{{cache}} {{layer}} {{result}}",
              },
            ],
          },
          {
            title: "Cache invalidations per second",
            description:
              "write: this instance wrote; remote: learned from another; recovery: after a cache outage.",
            type: "timeseries",
            unit: "ops",
            min: 0,
            source: "service",
            needs: "cache",
            queries: [
              {
                expr: aggregate(
                  "sum",
                  ["cache", "reason"],
                  rate("canopy_cache_invalidations_total", apiMatchers(config), R),
                ),
                legend: "{{cache}} {{reason}}",
              },
            ],
          },
        ],
      },
    ],
  };
}
