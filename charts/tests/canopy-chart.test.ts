import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { helm } from "../../operator/src/testing/helm.ts";
import {
  chartDir,
  find,
  type K8sObject,
  kinds,
  monitoringApis,
  renderChart,
  renderError,
} from "../../operator/src/testing/render.ts";
import { schemaProblems, validateObject } from "../../operator/src/testing/schemas.ts";

const ciDir = join(chartDir("canopy"), "ci");
const ciFiles = readdirSync(ciDir).filter((f) => f.endsWith(".yaml"));
const ci = (name: string) => join(ciDir, name);
const badDir = join(import.meta.dirname, "bad-values");

const container = (deployment: K8sObject) => deployment.spec.template.spec.containers[0];
const env = (c: { env: { name: string; value?: string; valueFrom?: unknown }[] }) =>
  Object.fromEntries(c.env.map((e) => [e.name, e.value ?? e.valueFrom]));

describe("charts/canopy renders valid objects in every mode", () => {
  it.each(ciFiles)("helm lint passes with ci/%s", async (file) => {
    const r = await helm(["lint", chartDir("canopy"), "-f", ci(file), "--strict"]);
    expect(r.stdout + r.stderr).toContain("0 chart(s) failed");
    expect(r.code).toBe(0);
  });

  it.each(ciFiles)("every object rendered with ci/%s validates against its schema", async (file) => {
    const objects = await renderChart("canopy", { valuesFiles: [ci(file)], apiVersions: monitoringApis });
    expect(objects.length).toBeGreaterThan(5);
    for (const o of objects) {
      const v = validateObject(o);
      expect(v, `${o.kind} ${o.metadata.name} against ${v.source}`).toMatchObject({ ok: true });
    }
  });
});

describe("charts/canopy defaults", async () => {
  const objects = await renderChart("canopy", { apiVersions: monitoringApis });
  const deployment = find(objects, "Deployment");
  const api = container(deployment);

  it("leaves the replica count to an autoscaling/v2 HPA at 70% CPU, 5 to 10 replicas", () => {
    expect(deployment.spec).not.toHaveProperty("replicas");
    const hpa = find(objects, "HorizontalPodAutoscaler");
    expect(hpa.apiVersion).toBe("autoscaling/v2");
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name },
      minReplicas: 5,
      maxReplicas: 10,
      metrics: [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
        },
      ],
    });
    expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBe(300);
  });

  it("requests CPU and memory, so utilization-based scaling means something", () => {
    expect(api.resources.requests).toEqual({ cpu: "250m", memory: "256Mi" });
  });

  it("probes /healthz for liveness and startup and /readyz for readiness", () => {
    expect(api.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(api.startupProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(api.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
  });

  it("runs as non-root on a read-only root filesystem with a writable /tmp", () => {
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(api.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    expect(api.volumeMounts).toContainEqual({ name: "tmp", mountPath: "/tmp" });
    expect(deployment.spec.template.spec.volumes).toContainEqual({
      name: "tmp",
      emptyDir: { sizeLimit: "64Mi" },
    });
  });

  it("drains before SIGTERM and gives the graceful shutdown its whole deadline", () => {
    const sleep = api.lifecycle.preStop.sleep.seconds as number;
    const drainMs = Number(env(api).SHUTDOWN_TIMEOUT_MS);
    const grace = deployment.spec.template.spec.terminationGracePeriodSeconds as number;
    expect(sleep).toBe(5);
    expect(drainMs).toBe(10_000);
    expect(grace).toBeGreaterThan(sleep + drainMs / 1000);
  });

  it("spreads pods over zones and nodes", () => {
    const keys = deployment.spec.template.spec.topologySpreadConstraints.map(
      (t: { topologyKey: string }) => t.topologyKey,
    );
    expect(keys).toEqual(["topology.kubernetes.io/zone", "kubernetes.io/hostname"]);
  });

  it("points writes at the CloudNativePG pooler and reads at <cluster>-ro with the app secret", () => {
    const e = env(api);
    expect(e.DB_USER).toEqual({ secretKeyRef: { name: "canopy-db-app", key: "username" } });
    expect(e.DATABASE_URL).toBe("postgresql://$(DB_USER):$(DB_PASSWORD)@canopy-db-pooler:5432/canopy");
    expect(e.DATABASE_REPLICA_URLS).toBe("postgresql://$(DB_USER):$(DB_PASSWORD)@canopy-db-ro:5432/canopy");
    expect(find(objects, "Cluster").spec.instances).toBe(3);
    expect(find(objects, "Pooler").spec).toMatchObject({ cluster: { name: "canopy-db" }, type: "rw" });
  });

  it("migrates with `canopy migrate` in a hook Job that goes straight to <cluster>-rw", () => {
    const job = find(objects, "Job");
    expect(job.metadata.annotations?.["helm.sh/hook"]).toBe("post-install,pre-upgrade");
    const c = job.spec.template.spec.containers[0];
    expect([...c.command, ...c.args]).toEqual(["node", "--import", "tsx", "src/cli.ts", "migrate"]);
    expect(env(c).DATABASE_URL).toBe("postgresql://$(DB_USER):$(DB_PASSWORD)@canopy-db-rw:5432/canopy");
    expect(c.image).toBe(api.image);
  });

  it("ships a PodDisruptionBudget, a NetworkPolicy on the API port and a token-less ServiceAccount", () => {
    expect(find(objects, "PodDisruptionBudget").spec.maxUnavailable).toBe(1);
    expect(find(objects, "NetworkPolicy").spec.ingress).toEqual([
      { ports: [{ port: "http", protocol: "TCP" }] },
    ]);
    expect(find(objects, "ServiceAccount").automountServiceAccountToken).toBe(false);
  });

  it("renders the ServiceMonitor only where the Prometheus Operator's API is served", async () => {
    expect(find(objects, "ServiceMonitor").spec.endpoints).toEqual([
      { port: "http", path: "/metrics", interval: "30s" },
    ]);
    const without = await renderChart("canopy");
    expect(kinds(without)).not.toContain("ServiceMonitor");
    expect(kinds(without)).not.toContain("PrometheusRule");
  });

  it("generates an auth secret when none is given", () => {
    const secret = find(objects, "Secret", "canopy-auth");
    expect(Object.keys(secret.data)).toEqual(["jwt-secret", "cursor-secret"]);
    expect(Buffer.from(secret.data["jwt-secret"], "base64").length).toBeGreaterThanOrEqual(32);
  });
});

describe("charts/canopy modes", () => {
  it("an external database and Redis come from existing Secrets, with no CloudNativePG objects", async () => {
    const objects = await renderChart("canopy", { valuesFiles: [ci("external-database-values.yaml")] });
    expect(kinds(objects)).not.toContain("Cluster");
    expect(kinds(objects)).not.toContain("Pooler");
    expect(kinds(objects)).not.toContain("Secret");
    const e = env(container(find(objects, "Deployment")));
    expect(e.DATABASE_URL).toEqual({ secretKeyRef: { name: "canopy-database", key: "database-url" } });
    expect(e.DATABASE_REPLICA_URLS).toEqual({
      secretKeyRef: { name: "canopy-database", key: "replica-urls" },
    });
    expect(e.REDIS_URL).toEqual({ secretKeyRef: { name: "canopy-redis", key: "redis-url" } });
    expect(e.AUTH_JWKS_URL).toBe("https://auth.example.com/.well-known/jwks.json");
    expect(e).not.toHaveProperty("AUTH_JWT_SECRET");
    expect(e.CURSOR_SECRET).toEqual({
      secretKeyRef: { name: "canopy-auth", key: "cursor-secret", optional: false },
    });
    expect(find(objects, "Job").metadata.annotations?.["helm.sh/hook"]).toBe("pre-install,pre-upgrade");
  });

  it("without monitoring and autoscaling: a fixed replica count and no monitoring objects", async () => {
    const objects = await renderChart("canopy", {
      valuesFiles: [ci("no-monitoring-values.yaml")],
      apiVersions: monitoringApis,
    });
    for (const kind of ["ServiceMonitor", "PrometheusRule", "ConfigMap", "HorizontalPodAutoscaler"]) {
      expect(kinds(objects)).not.toContain(kind);
    }
    expect(find(objects, "Deployment").spec.replicas).toBe(3);
  });

  it("in-cluster Redis and an Ingress with class and TLS from values", async () => {
    const objects = await renderChart("canopy", { valuesFiles: [ci("cluster-values.yaml")] });
    const redis = find(objects, "RedisCluster");
    expect(redis.spec.clusterSize).toBe(3);
    expect(env(container(find(objects, "Deployment"))).REDIS_CLUSTER_NODES).toBe("canopy-redis-leader:6379");
    const ingress = find(objects, "Ingress");
    expect(ingress.spec.ingressClassName).toBe("nginx");
    expect(ingress.spec.tls).toEqual([{ hosts: ["canopy.example.com"], secretName: "canopy-tls" }]);
  });

  it("a single Postgres instance has no replica URL", async () => {
    const objects = await renderChart("canopy", { set: ["database.cnpg.instances=1"] });
    expect(env(container(find(objects, "Deployment")))).not.toHaveProperty("DATABASE_REPLICA_URLS");
  });
});

describe("charts/canopy refuses bad values with a message that says what to fix", () => {
  const cases: [file: string, message: string][] = [
    ["typo.yaml", "Additional property autoscalling is not allowed"],
    ["wrong-type.yaml", "autoscaling.minReplicas: Invalid type. Expected: integer, given: string"],
    [
      "cpu-target-out-of-range.yaml",
      "autoscaling.targetCPUUtilizationPercentage: Must be less than or equal to 100",
    ],
    ["unknown-database-mode.yaml", 'database.mode must be one of the following: "cnpg", "external"'],
    ["min-above-max.yaml", "autoscaling.minReplicas (12) must not exceed autoscaling.maxReplicas (10)"],
    [
      "external-database-without-secret.yaml",
      "database.mode=external needs database.external.existingSecret",
    ],
    ["jwks-without-secret.yaml", "auth.jwksUrl needs auth.existingSecret"],
  ];

  it("every bad values file has a case", () => {
    expect(readdirSync(badDir).sort()).toEqual(cases.map(([f]) => f).sort());
  });

  it.each(cases)("%s is refused: %s", async (file, message) => {
    const error = await renderError("canopy", { valuesFiles: [join(badDir, file)] });
    expect(error).toContain(message);
  });
});

describe("charts/canopy values.schema.json", () => {
  it("describes every field and refuses unknown ones", () => {
    const schema = JSON.parse(readFileSync(join(chartDir("canopy"), "values.schema.json"), "utf8"));
    expect(schemaProblems(schema)).toEqual([]);
  });
});
