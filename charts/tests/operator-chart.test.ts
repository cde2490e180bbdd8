import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { helm, repoRoot } from "../../operator/src/testing/helm.ts";
import {
  chartDir,
  find,
  kinds,
  monitoringApis,
  parseYaml,
  renderChart,
  renderError,
} from "../../operator/src/testing/render.ts";
import { schemaProblems, validateObject } from "../../operator/src/testing/schemas.ts";

const ciDir = join(chartDir("canopy-operator"), "ci");
const ciFiles = readdirSync(ciDir);

describe("charts/canopy-operator", () => {
  it.each(ciFiles)("helm lint passes with ci/%s", async (file) => {
    const r = await helm(["lint", chartDir("canopy-operator"), "-f", join(ciDir, file), "--strict"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it.each(ciFiles)(
    "every object rendered with ci/%s, the CRD included, validates against its schema",
    async (file) => {
      const objects = await renderChart("canopy-operator", {
        valuesFiles: [join(ciDir, file)],
        apiVersions: monitoringApis,
        set: [],
      });
      const withCrds = await helm([
        "template",
        "op",
        chartDir("canopy-operator"),
        "--include-crds",
        "-f",
        join(ciDir, file),
        "--kube-version",
        "1.33.0",
      ]);
      const crd = withCrds.stdout
        .split("\n---")
        .map((d) => parseYaml(d))
        .find((o) => o?.kind === "CustomResourceDefinition");
      for (const o of [...objects, crd]) {
        const v = validateObject(o);
        expect(v, `${o.kind} ${o.metadata.name} against ${v.source}`).toMatchObject({ ok: true });
      }
    },
  );

  it("runs two replicas with leader election, non-root on a read-only root filesystem, with its metrics", async () => {
    const objects = await renderChart("canopy-operator", { apiVersions: monitoringApis });
    const d = find(objects, "Deployment");
    const c = d.spec.template.spec.containers[0];
    expect(d.spec.replicas).toBe(2);
    expect(c.env).toContainEqual({ name: "LEADER_ELECTION", value: "true" });
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(d.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(find(objects, "ServiceMonitor").spec.endpoints).toEqual([
      { port: "metrics", path: "/metrics", interval: "30s" },
    ]);
    expect(kinds(objects)).toEqual(
      expect.arrayContaining(["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]),
    );
  });

  it("watching one namespace grants a Role there instead of a ClusterRole", async () => {
    const objects = await renderChart("canopy-operator", {
      valuesFiles: [join(ciDir, "single-namespace-values.yaml")],
    });
    expect(kinds(objects)).not.toContain("ClusterRole");
    expect(find(objects, "Role").metadata.namespace).toBe("canopy");
    expect(kinds(objects)).not.toContain("ServiceMonitor");
  });

  it("refuses unknown values", async () => {
    expect(await renderError("canopy-operator", { set: ["leaderElecton.enabled=false"] })).toContain(
      "Additional property leaderElecton is not allowed",
    );
  });

  it("values.schema.json describes every field and refuses unknown ones", () => {
    const schema = JSON.parse(readFileSync(join(chartDir("canopy-operator"), "values.schema.json"), "utf8"));
    expect(schemaProblems(schema)).toEqual([]);
  });
});

describe("the CanopyCluster CRD", () => {
  it("accepts the sample under operator/samples", () => {
    const sample = parseYaml(readFileSync(join(repoRoot, "operator/samples/canopycluster.yaml"), "utf8"));
    expect(validateObject(sample)).toMatchObject({
      ok: true,
      source: expect.stringContaining("canopy.dev_canopyclusters"),
    });
  });

  const bad: [file: string, error: string][] = [
    ["typo.yaml", "/spec must NOT have additional properties: autoscalling"],
    ["no-version.yaml", "/spec must have required property 'version'"],
    ["cpu-target-out-of-range.yaml", "/spec/autoscaling/targetCPUUtilizationPercentage must be <= 100"],
  ];
  it.each(bad)("refuses %s: %s", (file, error) => {
    const obj = parseYaml(readFileSync(join(import.meta.dirname, "bad-canopyclusters", file), "utf8"));
    const v = validateObject(obj);
    expect(v.ok).toBe(false);
    expect(v.ok ? [] : v.errors).toContain(error);
  });

  it("has a status subresource and printer columns", () => {
    const crd = parseYaml(
      readFileSync(join(chartDir("canopy-operator"), "crds/canopy.dev_canopyclusters.yaml"), "utf8"),
    );
    const [version] = crd.spec.versions;
    expect(crd.spec).toMatchObject({ group: "canopy.dev", scope: "Namespaced" });
    expect(version).toMatchObject({ name: "v1alpha1", subresources: { status: {} } });
    expect(version.additionalPrinterColumns.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining(["Version", "Ready", "Replicas", "Age"]),
    );
  });
});
