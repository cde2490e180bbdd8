import { stringify } from "yaml";
import { defaultConfig, type MonitoringConfig } from "./config.ts";
import { dashboardJson, dashboards } from "./dashboards/index.ts";
import { dashboardsConfigMap, prometheusRule } from "./kubernetes.ts";
import { ruleGroups } from "./rules/index.ts";

const header =
  "# Generated from dashboards/src by `pnpm --filter @canopy/dashboards build`: edit the source, not this file.\n";

/** YAML with no folded lines, so every PromQL expression reads as written. */
export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}

/** The plain Prometheus rule file (top-level `groups:`). */
export function rulesFile(config: MonitoringConfig = defaultConfig): string {
  return header + toYaml({ groups: ruleGroups(config) });
}

/** Every generated file, by path relative to dashboards/. */
export function generatedFiles(config: MonitoringConfig = defaultConfig): Record<string, string> {
  const files: Record<string, string> = {};
  for (const d of dashboards(config)) files[`generated/${d.file}`] = dashboardJson(d.json);
  files["rules/canopy.rules.yaml"] = rulesFile(config);
  files["generated/prometheusrule.yaml"] = header + toYaml(prometheusRule({ config }));
  files["generated/dashboards-configmap.yaml"] = header + toYaml(dashboardsConfigMap({ config }));
  return files;
}
