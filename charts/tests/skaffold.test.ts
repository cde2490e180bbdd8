import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDockerfile } from "../../operator/src/image/dockerfile.ts";
import { repoRoot } from "../../operator/src/testing/helm.ts";
import { find, parseYaml, renderChart } from "../../operator/src/testing/render.ts";
import { validateObject } from "../../operator/src/testing/schemas.ts";

/** skaffold is not on this machine: its config is checked against the files it names and the chart it deploys. */
const skaffold = parseYaml(readFileSync(join(repoRoot, "skaffold.yaml"), "utf8"));
const release = skaffold.deploy.helm.releases[0];
const stages = parseDockerfile(join(repoRoot, "Dockerfile")).map((s) => s.name);
const profile = (name: string) => skaffold.profiles.find((p: { name: string }) => p.name === name);
const asSet = (values: Record<string, unknown>) => Object.entries(values).map(([k, v]) => `${k}=${v}`);

describe("skaffold.yaml", () => {
  it("builds Dockerfile targets that exist and deploys charts/canopy", () => {
    const artifacts = [...skaffold.build.artifacts, ...profile("prod").build.artifacts];
    for (const a of artifacts) expect(stages).toContain(a.docker.target);
    expect(existsSync(join(repoRoot, release.chartPath, "Chart.yaml"))).toBe(true);
  });

  it("the dev profile renders one replica on a one-instance CloudNativePG, every object valid", async () => {
    const setValues = profile("dev").patches.find((p: { path: string }) =>
      p.path.endsWith("/setValues"),
    ).value;
    const objects = await renderChart("canopy", {
      release: release.name,
      namespace: release.namespace,
      set: [...asSet(setValues), "image.repository=canopy-api", "image.tag=dev"],
    });
    expect(find(objects, "Deployment").spec.replicas).toBe(1);
    expect(find(objects, "Cluster").spec.instances).toBe(1);
    expect(objects.some((o) => o.kind === "HorizontalPodAutoscaler")).toBe(false);
    for (const o of objects) expect(validateObject(o)).toMatchObject({ ok: true });
    // Port-forwarding targets the Service the chart makes, on its port.
    const [forward] = skaffold.portForward;
    const service = find(objects, "Service", forward.resourceName);
    expect(service.spec.ports[0].port).toBe(forward.port);
  });
});
