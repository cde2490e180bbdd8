import { parse } from "yaml";
import type { MonitoringAssets } from "../monitoring/assets.ts";
import { type CanopyCluster, resolveSpec } from "../types.ts";
import { names, objectMeta, selectorLabels } from "./meta.ts";

export function buildServiceMonitor(c: CanopyCluster) {
  const r = resolveSpec(c.spec);
  if (!r.monitoring.serviceMonitor) return undefined;
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    metadata: objectMeta(c, r, names(c).app),
    spec: {
      selector: { matchLabels: selectorLabels(c) },
      endpoints: [{ port: "http", path: "/metrics", interval: "30s" }],
    },
  };
}

/** The alerts generated from dashboards/ (a whole PrometheusRule or its spec alone). */
export function buildPrometheusRule(c: CanopyCluster, assets: MonitoringAssets) {
  const r = resolveSpec(c.spec);
  if (!r.monitoring.prometheusRule || assets.prometheusRule === undefined) return undefined;
  const doc = parse(assets.prometheusRule) as { spec?: unknown; groups?: unknown };
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: objectMeta(c, r, names(c).app),
    spec: doc.spec ?? doc,
  };
}

/** The Grafana dashboards in a ConfigMap the Grafana sidecar picks up by its label. */
export function buildDashboardsConfigMap(c: CanopyCluster, assets: MonitoringAssets) {
  const r = resolveSpec(c.spec);
  if (!r.monitoring.dashboards || Object.keys(assets.dashboards).length === 0) return undefined;
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: objectMeta(c, r, names(c).dashboards, { grafana_dashboard: "1" }),
    data: assets.dashboards,
  };
}
