import { defaultConfig, type MonitoringConfig } from "./config.ts";
import { dashboardJson, dashboards } from "./dashboards/index.ts";
import { ruleGroups } from "./rules/index.ts";
import type { RuleGroup } from "./rules/types.ts";

/**
 * The Kubernetes forms the platform ships, built from the same source as the rule file and
 * the dashboard JSON. Pure: options in, object out; a chart or an operator adds its own
 * labels and namespace.
 */
export type ObjectOptions = {
  name?: string;
  /** Omitted when unset, so `kubectl apply -n` decides. */
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  config?: MonitoringConfig;
};

export const commonLabels = {
  "app.kubernetes.io/name": "canopy",
  "app.kubernetes.io/component": "monitoring",
  "app.kubernetes.io/part-of": "canopy",
};

type Metadata = {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
};

function metadata(name: string, options: ObjectOptions, labels: Record<string, string>): Metadata {
  return {
    name: options.name ?? name,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    labels: { ...commonLabels, ...labels, ...options.labels },
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
}

export type PrometheusRule = {
  apiVersion: "monitoring.coreos.com/v1";
  kind: "PrometheusRule";
  metadata: Metadata;
  spec: { groups: RuleGroup[] };
};

export function prometheusRule(options: ObjectOptions = {}): PrometheusRule {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: metadata("canopy", options, {}),
    spec: { groups: ruleGroups(options.config ?? defaultConfig) },
  };
}

export type ConfigMap = {
  apiVersion: "v1";
  kind: "ConfigMap";
  metadata: Metadata;
  data: Record<string, string>;
};

/** The label Grafana's dashboard sidecar (the grafana chart's default) watches for. */
export const grafanaSidecarLabel = { grafana_dashboard: "1" };

export function dashboardsConfigMap(options: ObjectOptions = {}): ConfigMap {
  const data: Record<string, string> = {};
  for (const d of dashboards(options.config ?? defaultConfig)) data[d.file] = dashboardJson(d.json);
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: metadata("canopy-dashboards", options, grafanaSidecarLabel),
    data,
  };
}
