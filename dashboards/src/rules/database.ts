import type { MonitoringConfig } from "../config.ts";
import { aggregate, rate, selector, sum } from "../promql.ts";
import { runbook } from "./runbook.ts";
import type { RuleGroup } from "./types.ts";

/** Pool saturation, replica lag against the staleness bound, bursts of slow statements. */
export function databaseAlerts(config: MonitoringConfig): RuleGroup {
  const api = config.apiSelector;
  const bound = config.stalenessBoundSeconds;
  return {
    name: "canopy-database.alerts",
    rules: [
      {
        alert: "CanopyDatabasePoolSaturated",
        expr: `avg_over_time(canopy_db_pool_connections${selector(...api, 'state="waiting"')}[2m]) >= ${config.poolWaitingClients}`,
        for: "5m",
        labels: { severity: "warning" },
        annotations: {
          summary: "Canopy requests queue for a database connection",
          description:
            "{{ $labels.namespace }}/{{ $labels.instance }}: on average {{ $value | humanize }} clients wait for a " +
            "{{ $labels.target }} pool connection: every connection of the pool (DB_POOL_MAX) is busy.",
          runbook_url: runbook(config, "CanopyDatabasePoolSaturated"),
        },
      },
      {
        alert: "CanopyReplicaLagHigh",
        expr: `${aggregate("max", [...config.groupBy, "replica"], `canopy_replica_lag_seconds${selector(...api)}`)} > ${bound}`,
        for: "2m",
        labels: { severity: "warning" },
        annotations: {
          summary: `A Canopy read replica lags more than the ${bound} s staleness bound`,
          description:
            "{{ $labels.namespace }}/{{ $labels.job }}: replica {{ $labels.replica }} is {{ $value | humanizeDuration }} " +
            `behind the primary, beyond STALENESS_BOUND_MS (${bound} s): reads it cannot serve go to the primary.`,
          runbook_url: runbook(config, "CanopyReplicaLagHigh"),
        },
      },
      {
        alert: "CanopySlowQueryBurst",
        expr: `${sum([...config.groupBy, "query", "target"], rate("canopy_db_slow_queries_total", api, "5m"))} > ${config.slowQueryBurstPerSecond}`,
        for: "5m",
        labels: { severity: "warning" },
        annotations: {
          summary: "A burst of slow Canopy database statements",
          description:
            "{{ $labels.namespace }}/{{ $labels.job }}: statement {{ $labels.query }} on the {{ $labels.target }} " +
            `ran over SLOW_QUERY_MS {{ $value | humanize }} times a second for 5 minutes (threshold ${config.slowQueryBurstPerSecond}/s).`,
          runbook_url: runbook(config, "CanopySlowQueryBurst"),
        },
      },
    ],
  };
}
