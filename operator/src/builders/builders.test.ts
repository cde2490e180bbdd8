import { describe, expect, it } from "vitest";
import { cluster, sampleCluster, specs } from "../testing/clusters.ts";
import { validateObject } from "../testing/schemas.ts";
import { buildAuthSecret } from "./auth.ts";
import { buildHorizontalPodAutoscaler, buildPodDisruptionBudget } from "./autoscaling.ts";
import { buildPooler, buildPostgresCluster, buildRedisCluster } from "./data.ts";
import { buildDeployment } from "./deployment.ts";
import { buildMigrationJob } from "./migration-job.ts";
import { buildDashboardsConfigMap, buildPrometheusRule, buildServiceMonitor } from "./monitoring.ts";
import { buildIngress, buildNetworkPolicy, buildService, buildServiceAccount } from "./networking.ts";

const assets = {
  prometheusRule:
    "groups:\n  - name: canopy\n    rules:\n      - alert: CanopyDown\n        expr: up == 0\n        for: 5m\n        labels: {severity: critical}\n",
  dashboards: { "canopy-overview.json": '{"title":"Canopy"}' },
};

const everything = (c: ReturnType<typeof cluster>) =>
  [
    buildDeployment(c),
    buildMigrationJob(c),
    buildHorizontalPodAutoscaler(c),
    buildPodDisruptionBudget(c),
    buildService(c),
    buildServiceAccount(c),
    buildNetworkPolicy(c),
    buildIngress(c),
    buildPostgresCluster(c, true),
    buildPooler(c),
    buildRedisCluster(c),
    buildServiceMonitor(c),
    buildPrometheusRule(c, assets),
    buildDashboardsConfigMap(c, assets),
    buildAuthSecret(c),
  ].filter((o) => o !== undefined);

describe("every object the builders produce validates against its schema", () => {
  it.each([...Object.entries(specs), ["the sample", sampleCluster().spec] as const])("%s", (_, spec) => {
    const objects = everything(cluster(spec));
    expect(objects.length).toBeGreaterThan(8);
    for (const o of objects) {
      const v = validateObject(o);
      expect(v, `${o.kind} against ${v.source}`).toMatchObject({ ok: true });
    }
  });
});

describe("builders", () => {
  it("never give the Deployment a replica count while the HPA owns it", () => {
    expect(buildDeployment(cluster()).spec).not.toHaveProperty("replicas");
    expect(buildDeployment(cluster({ autoscaling: { enabled: false, replicas: 3 } })).spec.replicas).toBe(3);
  });

  it("default the HPA to 70% CPU between 5 and 10 replicas", () => {
    expect(buildHorizontalPodAutoscaler(cluster()).spec).toMatchObject({
      minReplicas: 5,
      maxReplicas: 10,
      metrics: [{ resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }],
    });
  });

  it("name one migration Job per image, pointed at the primary without the pooler", () => {
    const a = buildMigrationJob(cluster({ version: "1.0.0" }));
    const b = buildMigrationJob(cluster({ version: "1.1.0" }));
    expect(a.metadata.name).not.toBe(b.metadata.name);
    expect(a.metadata.name).toBe(buildMigrationJob(cluster({ version: "1.0.0" })).metadata.name);
    const url = a.spec.template.spec.containers[0]?.env.find((e) => e.name === "DATABASE_URL");
    expect(url?.value).toBe("postgresql://$(DB_USER):$(DB_PASSWORD)@canopy-db-rw:5432/canopy");
  });

  it("own every child through a controller ownerReference, so deletion cascades", () => {
    for (const o of everything(cluster(specs["everything in the cluster"]))) {
      expect(o.metadata.ownerReferences).toEqual([
        expect.objectContaining({
          kind: "CanopyCluster",
          name: "canopy",
          controller: true,
          uid: expect.any(String),
        }),
      ]);
    }
  });

  it("make no CloudNativePG objects for an external database and no Ingress unless asked", () => {
    const c = cluster(specs["external database and redis, JWKS"]);
    expect(buildPostgresCluster(c)).toBeUndefined();
    expect(buildPooler(c)).toBeUndefined();
    expect(buildIngress(c)).toBeUndefined();
    expect(buildAuthSecret(c)).toBeUndefined();
  });

  it("make the monitoring objects only when switched on", () => {
    const c = cluster(specs["fixed replicas, no monitoring"]);
    expect(buildServiceMonitor(c)).toBeUndefined();
    expect(buildPrometheusRule(c, assets)).toBeUndefined();
    expect(buildDashboardsConfigMap(c, assets)).toBeUndefined();
    expect(buildPrometheusRule(cluster(), assets)?.spec).toMatchObject({ groups: [{ name: "canopy" }] });
  });
});
