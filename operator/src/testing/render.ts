import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { helm, repoRoot } from "./helm.ts";

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are inspected field by field in tests
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  [key: string]: any;
};

export const chartDir = (name: string) => join(repoRoot, "charts", name);

/** The API groups a cluster with the Prometheus Operator serves, for `.Capabilities.APIVersions`. */
export const monitoringApis = [
  "monitoring.coreos.com/v1",
  "monitoring.coreos.com/v1/ServiceMonitor",
  "monitoring.coreos.com/v1/PrometheusRule",
  "monitoring.coreos.com/v1/PodMonitor",
];

export type RenderOptions = {
  release?: string;
  namespace?: string;
  valuesFiles?: string[];
  set?: string[];
  apiVersions?: string[];
};

function templateArgs(chart: string, o: RenderOptions) {
  return [
    "template",
    o.release ?? "canopy",
    chartDir(chart),
    "--namespace",
    o.namespace ?? "canopy",
    "--kube-version",
    "1.33.0",
    ...(o.valuesFiles ?? []).flatMap((f) => ["-f", f]),
    ...(o.set ?? []).flatMap((s) => ["--set", s]),
    ...(o.apiVersions ?? []).flatMap((a) => ["--api-versions", a]),
  ];
}

/** `helm template`, parsed; throws with helm's message when the chart refuses the values. */
export async function renderChart(chart: string, o: RenderOptions = {}): Promise<K8sObject[]> {
  const r = await helm(templateArgs(chart, o));
  if (r.code !== 0) throw new Error(r.stderr.trim());
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** The error helm prints when it refuses to render, or undefined when it renders. */
export async function renderError(chart: string, o: RenderOptions = {}): Promise<string | undefined> {
  const r = await helm(templateArgs(chart, o));
  return r.code === 0 ? undefined : r.stderr.trim();
}

export function find(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (!found)
    throw new Error(`no ${kind}${name ? ` ${name}` : ""} among ${objects.map((o) => o.kind).join(", ")}`);
  return found;
}

export const kinds = (objects: K8sObject[]) => objects.map((o) => o.kind).sort();
export { parse as parseYaml } from "yaml";
