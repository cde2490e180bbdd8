import type { MonitoringConfig } from "../../config.ts";
import { aggregate, rate, selector, sum } from "../../promql.ts";
import type { PanelSpec } from "../spec.ts";
import { apiMatchers, podMatchers } from "../variables.ts";
import { ceiling, floor, pct, R } from "./common.ts";

/** Replicas and CPU: kube-state-metrics and cAdvisor, and the process's own view. */

export function apiReplicas(config: MonitoringConfig): PanelSpec {
  const k = config.kubernetes;
  const deployment = selector('namespace=~"$namespace"', `deployment=~"${k.deployment}"`);
  const hpa = selector('namespace=~"$namespace"', `horizontalpodautoscaler=~"${k.hpa}"`);
  return {
    title: "API replicas",
    description: "The Deployment's pods and what the HorizontalPodAutoscaler wants (kube-state-metrics).",
    type: "timeseries",
    unit: "short",
    min: 0,
    source: "kubernetes",
    queries: [
      { expr: sum(["deployment"], `kube_deployment_status_replicas${deployment}`), legend: "replicas" },
      {
        expr: sum(["deployment"], `kube_deployment_status_replicas_available${deployment}`),
        legend: "available",
      },
      {
        expr: sum(["horizontalpodautoscaler"], `kube_horizontalpodautoscaler_status_desired_replicas${hpa}`),
        legend: "desired (HPA)",
      },
      {
        expr: sum(["horizontalpodautoscaler"], `kube_horizontalpodautoscaler_spec_max_replicas${hpa}`),
        legend: "max (HPA)",
      },
    ],
  };
}

export function cpuAgainstTarget(config: MonitoringConfig): PanelSpec {
  const used = (by: string[]) => sum(by, rate("container_cpu_usage_seconds_total", podMatchers(config), R));
  const requested = (by: string[]) =>
    sum(by, `kube_pod_container_resource_requests${selector(...podMatchers(config, 'resource="cpu"'))}`);
  return {
    title: `CPU of requests against the ${pct(config.kubernetes.cpuTarget)} autoscaling target`,
    description:
      "CPU used over CPU requested (cAdvisor, kube-state-metrics): the HPA adds replicas when the average passes the line.",
    type: "timeseries",
    unit: "percentunit",
    min: 0,
    source: "kubernetes",
    thresholds: ceiling(config.kubernetes.cpuTarget),
    queries: [
      { expr: `${used([])} / ${requested([])}`, legend: "average (what the HPA uses)" },
      { expr: `${used(["pod"])} / ${requested(["pod"])}`, legend: "{{pod}}" },
    ],
  };
}

export function instancesUp(config: MonitoringConfig): PanelSpec {
  return {
    title: "Instances scraped",
    description: "API instances Prometheus scrapes successfully.",
    type: "stat",
    unit: "short",
    source: "service",
    thresholds: floor(1),
    queries: [{ expr: `sum(up${selector(...apiMatchers(config))})`, legend: "up" }],
  };
}

export function processCpu(config: MonitoringConfig): PanelSpec {
  return {
    title: "Process CPU by instance",
    description: "CPU seconds per second of each API process, as the process itself reports it.",
    type: "timeseries",
    unit: "short",
    min: 0,
    source: "service",
    queries: [
      {
        expr: sum(["instance"], rate("process_cpu_seconds_total", apiMatchers(config), R)),
        legend: "{{instance}}",
      },
    ],
  };
}

export function eventLoopLag(config: MonitoringConfig): PanelSpec {
  return {
    title: "Event loop lag P99 by instance",
    description: "Time callbacks wait for the Node.js event loop: CPU-bound instances show it first.",
    type: "timeseries",
    unit: "s",
    min: 0,
    source: "service",
    queries: [
      {
        expr: aggregate(
          "max",
          ["instance"],
          `nodejs_eventloop_lag_p99_seconds${selector(...apiMatchers(config))}`,
        ),
        legend: "{{instance}}",
      },
    ],
  };
}
