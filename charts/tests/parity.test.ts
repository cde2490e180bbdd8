import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  buildHorizontalPodAutoscaler,
  buildPodDisruptionBudget,
} from "../../operator/src/builders/autoscaling.ts";
import { buildPooler, buildPostgresCluster, buildRedisCluster } from "../../operator/src/builders/data.ts";
import { buildDeployment } from "../../operator/src/builders/deployment.ts";
import { buildMigrationJob } from "../../operator/src/builders/migration-job.ts";
import { buildIngress, buildNetworkPolicy, buildService } from "../../operator/src/builders/networking.ts";
import { cluster, specs } from "../../operator/src/testing/clusters.ts";
import { find, type K8sObject, monitoringApis, renderChart } from "../../operator/src/testing/render.ts";

/**
 * The chart (for teams on plain Helm) and the operator's builders describe the same objects:
 * for equivalent inputs, the parts that matter must be equal.
 */
const cases: { name: keyof typeof specs; values: object }[] = [
  { name: "defaults", values: {} },
  {
    name: "external database and redis, JWKS",
    values: {
      database: {
        mode: "external",
        external: { existingSecret: "canopy-database", replicaUrlsKey: "replica-urls" },
      },
      redis: { mode: "external", external: { existingSecret: "canopy-redis" } },
      auth: {
        existingSecret: "canopy-auth",
        jwksUrl: "https://auth.example.com/.well-known/jwks.json",
        issuer: "https://auth.example.com/",
        audience: "canopy",
      },
    },
  },
  {
    name: "everything in the cluster",
    values: {
      database: {
        cnpg: { instances: 3, storage: { size: "20Gi", storageClass: "fast" }, pooler: { instances: 2 } },
      },
      redis: { mode: "cluster", cluster: { size: 3 } },
      ingress: {
        enabled: true,
        className: "nginx",
        host: "canopy.example.com",
        tls: { enabled: true, secretName: "canopy-tls" },
      },
      config: { logLevel: "debug", cache: { stalenessBoundMs: 500 } },
    },
  },
  {
    name: "fixed replicas, no monitoring",
    values: {
      autoscaling: { enabled: false },
      replicaCount: 3,
      monitoring: {
        serviceMonitor: { enabled: false },
        prometheusRule: { enabled: false },
        dashboards: { enabled: false },
      },
    },
  },
];

const dir = mkdtempSync(join(tmpdir(), "canopy-parity-"));

/** The parts of a pod template that decide how the API runs. */
function podEssentials(o: { spec?: K8sObject["spec"] }) {
  const pod = o.spec.template.spec;
  const c = pod.containers[0];
  return {
    pod: {
      securityContext: pod.securityContext,
      terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds,
      topologySpreadConstraints: pod.topologySpreadConstraints,
      volumes: pod.volumes,
      automountServiceAccountToken: pod.automountServiceAccountToken,
    },
    container: {
      image: c.image,
      command: c.command,
      args: c.args,
      env: c.env,
      ports: c.ports,
      startupProbe: c.startupProbe,
      livenessProbe: c.livenessProbe,
      readinessProbe: c.readinessProbe,
      lifecycle: c.lifecycle,
      resources: c.resources,
      securityContext: c.securityContext,
      volumeMounts: c.volumeMounts,
    },
  };
}

const json = (o: unknown) => JSON.parse(JSON.stringify(o ?? null));

describe.each(cases)("the chart and the operator agree: $name", async ({ name, values }) => {
  const file = join(dir, `${name.replaceAll(/\W+/g, "-")}.json`);
  writeFileSync(file, JSON.stringify(values));
  const chart = await renderChart("canopy", { valuesFiles: [file], apiVersions: monitoringApis });
  const c = cluster(specs[name]);
  const has = (kind: string) => chart.some((o) => o.kind === kind);

  it("Deployment: probes, env, resources, security context, drain, spread, replicas", () => {
    const fromChart = find(chart, "Deployment");
    const built = buildDeployment(c);
    expect(podEssentials(built)).toEqual(json(podEssentials(fromChart)));
    expect(built.spec.replicas).toEqual(fromChart.spec.replicas);
    expect(built.spec.strategy).toEqual(fromChart.spec.strategy);
  });

  it("HPA: target and bounds and behaviour", () => {
    const built = buildHorizontalPodAutoscaler(c);
    if (!has("HorizontalPodAutoscaler")) {
      expect(c.spec.autoscaling?.enabled).toBe(false);
      return;
    }
    expect(built.spec).toEqual(find(chart, "HorizontalPodAutoscaler").spec);
  });

  it("migration Job: command and database environment", () => {
    const job = find(chart, "Job");
    const built = buildMigrationJob(c);
    expect(podEssentials(built)).toEqual(json(podEssentials(job)));
    const { template: _a, ...builtSpec } = built.spec;
    const { template: _b, ...chartSpec } = job.spec;
    expect(builtSpec).toEqual(chartSpec);
  });

  it("Service, PodDisruptionBudget, NetworkPolicy and Ingress", () => {
    expect(buildService(c).spec).toEqual(find(chart, "Service").spec);
    expect(buildPodDisruptionBudget(c).spec).toEqual(find(chart, "PodDisruptionBudget").spec);
    expect(buildNetworkPolicy(c).spec).toEqual(find(chart, "NetworkPolicy").spec);
    expect(buildIngress(c)?.spec).toEqual(has("Ingress") ? find(chart, "Ingress").spec : undefined);
  });

  it("CloudNativePG Cluster and Pooler, RedisCluster", () => {
    expect(buildPostgresCluster(c, true)?.spec).toEqual(
      has("Cluster") ? find(chart, "Cluster").spec : undefined,
    );
    expect(buildPooler(c)?.spec).toEqual(has("Pooler") ? find(chart, "Pooler").spec : undefined);
    expect(buildRedisCluster(c)?.spec).toEqual(
      has("RedisCluster") ? find(chart, "RedisCluster").spec : undefined,
    );
  });
});
