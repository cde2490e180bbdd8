export { defaultConfig, type MonitoringConfig } from "./config.ts";
export { type BuiltDashboard, dashboardJson, dashboards } from "./dashboards/index.ts";
export { type DashboardSpec, type PanelSpec, panelQueries, type VariableSpec } from "./dashboards/spec.ts";
export {
  type ConfigMap,
  commonLabels,
  dashboardsConfigMap,
  grafanaSidecarLabel,
  type ObjectOptions,
  type PrometheusRule,
  prometheusRule,
} from "./kubernetes.ts";
export { generatedFiles, rulesFile, toYaml } from "./render.ts";
export { ruleGroups } from "./rules/index.ts";
export { type AlertingRule, isAlert, type RecordingRule, type Rule, type RuleGroup } from "./rules/types.ts";
