import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { defaultConfig, type MonitoringConfig } from "../config.ts";
import { dataLayer } from "./data-layer.ts";
import { grafanaDashboard } from "./grafana.ts";
import { overview } from "./overview.ts";
import type { DashboardSpec } from "./spec.ts";

export type BuiltDashboard = { file: string; spec: DashboardSpec; json: Dashboard };

/** Every dashboard: its file name, the spec it is built from, and the Grafana JSON. */
export function dashboards(config: MonitoringConfig = defaultConfig): BuiltDashboard[] {
  return [overview(config), dataLayer(config)].map((spec) => ({
    file: `${spec.uid}.json`,
    spec,
    json: grafanaDashboard(spec),
  }));
}

/** The file form of a dashboard: what Grafana imports and the sidecar ConfigMap carries. */
export function dashboardJson(dashboard: Dashboard): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}
