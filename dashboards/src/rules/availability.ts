import type { MonitoringConfig } from "../config.ts";
import { selector } from "../promql.ts";
import { runbook } from "./runbook.ts";
import type { RuleGroup } from "./types.ts";

/**
 * With no instance to scrape, every ratio above is empty and stays silent: these two alerts
 * cover that case.
 */
export function availabilityAlerts(config: MonitoringConfig): RuleGroup {
  const up = `up${selector(...config.apiSelector)}`;
  return {
    name: "canopy-availability.alerts",
    rules: [
      {
        alert: "CanopyInstanceDown",
        expr: `${up} == 0`,
        for: "5m",
        labels: { severity: "warning" },
        annotations: {
          summary: "Prometheus cannot scrape a Canopy instance",
          description:
            "{{ $labels.namespace }}/{{ $labels.instance }} has not answered /metrics for 5 minutes.",
          runbook_url: runbook(config, "CanopyInstanceDown"),
        },
      },
      {
        alert: "CanopyApiAbsent",
        expr: `absent(${up})`,
        for: "10m",
        labels: { severity: "critical" },
        annotations: {
          summary: "Prometheus has no Canopy instance to scrape",
          description:
            "No target matches the Canopy selector: the Deployment, its Service or the ServiceMonitor is gone, " +
            "and every other Canopy alert is blind.",
          runbook_url: runbook(config, "CanopyApiAbsent"),
        },
      },
    ],
  };
}
