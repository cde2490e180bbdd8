import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ValidateFunction } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { schemaFor } from "../../operator/src/testing/schemas.ts";
import { dashboards } from "./dashboards/index.ts";
import { dashboardsConfigMap, prometheusRule } from "./kubernetes.ts";
import { packageRoot } from "./paths.ts";

/** The strict validators the charts and the operator are checked with (CRDs and the Kubernetes OpenAPI). */
function validatorOf(apiVersion: string, kind: string): ValidateFunction {
  const schema = schemaFor(apiVersion, kind);
  if (!schema) throw new Error(`no schema for ${apiVersion} ${kind}`);
  return schema.validate;
}
type Json = Record<string, unknown>;
const prometheusRuleSchema = () => validatorOf("monitoring.coreos.com/v1", "PrometheusRule");
const configMapSchema = () => validatorOf("v1", "ConfigMap");

const committed = (file: string) => readFileSync(join(packageRoot, "generated", file), "utf8");

describe("the PrometheusRule", () => {
  const validate = prometheusRuleSchema();

  it("committed in generated/ is valid against the Prometheus Operator's CRD schema", () => {
    const object = parse(committed("prometheusrule.yaml"));
    expect(validate(object), JSON.stringify(validate.errors, null, 2)).toBe(true);
    expect(object).toMatchObject({ apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule" });
  });

  it("carries exactly the groups of the plain rule file", () => {
    const rulesFile = parse(readFileSync(join(packageRoot, "rules/canopy.rules.yaml"), "utf8"));
    expect(parse(committed("prometheusrule.yaml")).spec.groups).toEqual(rulesFile.groups);
  });

  it("takes the namespace, name and labels a chart or the operator gives it, and stays valid", () => {
    const object = prometheusRule({
      name: "prod-canopy",
      namespace: "prod",
      labels: { release: "kube-prometheus-stack" },
    });
    expect(object.metadata).toMatchObject({
      name: "prod-canopy",
      namespace: "prod",
      labels: { release: "kube-prometheus-stack", "app.kubernetes.io/name": "canopy" },
    });
    expect(validate(object), JSON.stringify(validate.errors, null, 2)).toBe(true);
  });

  it("is checked strictly: a misspelt field fails instead of being pruned", () => {
    const object = structuredClone(prometheusRule()) as unknown as { spec: { groups: Json[] } };
    const [first] = object.spec.groups;
    if (first) first.intervall = "1m";
    expect(validate(object)).toBe(false);
  });

  it("leaves the namespace to `kubectl apply -n` when none is given", () => {
    expect(prometheusRule().metadata).not.toHaveProperty("namespace");
  });
});

describe("the dashboards ConfigMap", () => {
  const validate = configMapSchema();
  const object = parse(committed("dashboards-configmap.yaml"));

  it("committed in generated/ is a valid ConfigMap for the Grafana sidecar", () => {
    expect(validate(object), JSON.stringify(validate.errors, null, 2)).toBe(true);
    expect(object.metadata.labels.grafana_dashboard).toBe("1");
  });

  it("holds every dashboard byte for byte as committed in generated/", () => {
    const files = dashboards().map((d) => d.file);
    expect(Object.keys(object.data).sort()).toEqual([...files].sort());
    for (const f of files) expect(object.data[f]).toBe(committed(f));
  });

  it("fits under the 256 KiB annotation limit of a client-side `kubectl apply`", () => {
    expect(Buffer.byteLength(JSON.stringify(object))).toBeLessThan(256 * 1024);
  });

  it("takes a namespace and labels, and keeps the sidecar label", () => {
    const custom = dashboardsConfigMap({ namespace: "monitoring", labels: { team: "platform" } });
    expect(custom.metadata).toMatchObject({
      namespace: "monitoring",
      labels: { team: "platform", grafana_dashboard: "1" },
    });
    expect(validate(custom), JSON.stringify(validate.errors, null, 2)).toBe(true);
  });
});
