import type { MonitoringConfig } from "../config.ts";
import { latencyQuantile } from "../promql.ts";
import { runbook } from "./runbook.ts";
import type { AlertingRule, RuleGroup } from "./types.ts";

/** P95 and P99 of the /v1 routes against their objectives, from the request histogram. */
export function latencyAlerts(config: MonitoringConfig): RuleGroup {
  const rules = config.slo.latency.map(({ quantile, seconds }): AlertingRule => {
    const p = `P${Math.round(quantile * 100)}`;
    const alert = `CanopyLatency${p}High`;
    return {
      alert,
      expr: `${latencyQuantile(config, quantile, config.apiSelector, config.groupBy, "5m")} > ${seconds}`,
      for: "10m",
      // The tail objective pages; the P95 one is a warning that usually comes first.
      labels: { severity: quantile >= 0.99 ? "critical" : "warning" },
      annotations: {
        summary: `Canopy ${p} latency is above ${seconds * 1000} ms`,
        description: `{{ $labels.namespace }}/{{ $labels.job }}: ${p} of /v1 requests over 5 minutes is {{ $value | humanizeDuration }}, above the ${seconds * 1000} ms objective for 10 minutes.`,
        runbook_url: runbook(config, alert),
      },
    };
  });
  return { name: "canopy-latency.alerts", rules };
}
