import type { MonitoringConfig } from "../config.ts";
import { selector } from "../promql.ts";
import type { VariableSpec } from "./spec.ts";

/**
 * The namespace and instance template variables, and the selector every service query uses
 * with them. `up` exists for every scraped target, whether it has served requests or not.
 */
export function scopeVariables(config: MonitoringConfig): VariableSpec[] {
  return [
    {
      name: "namespace",
      label: "Namespace",
      description: "Kubernetes namespace of the Canopy deployment",
      metric: `up${selector(...config.apiSelector)}`,
      labelName: "namespace",
    },
    {
      name: "instance",
      label: "Instance",
      description: "API instances (pods) to include",
      metric: `up${selector(...config.apiSelector, 'namespace=~"$namespace"')}`,
      labelName: "instance",
    },
  ];
}

/** The API's own series, narrowed by the template variables. */
export function apiMatchers(config: MonitoringConfig, ...extra: string[]): string[] {
  return [...config.apiSelector, 'namespace=~"$namespace"', 'instance=~"$instance"', ...extra];
}

/** kube-state-metrics and cAdvisor series of the API's pods in the chosen namespace. */
export function podMatchers(config: MonitoringConfig, ...extra: string[]): string[] {
  const k = config.kubernetes;
  return ['namespace=~"$namespace"', `pod=~"${k.pod}"`, `container="${k.container}"`, ...extra];
}
