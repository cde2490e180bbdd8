import { KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runOperator } from "../operator.ts";
import {
  builtIn,
  canopy,
  cloudNativePg,
  prometheusOperator,
  redisOperator,
} from "../testing/fake-api/resources.ts";
import { FakeApiServer } from "../testing/fake-api/server.ts";
import { simulateControllers } from "../testing/fake-api/simulate.ts";
import type { Stored } from "../testing/fake-api/store.ts";
import { checkRbac, operatorRules } from "../testing/rbac.ts";
import { validateObject } from "../testing/schemas.ts";
import type { CanopyClusterSpec, Condition } from "../types.ts";

/**
 * The operator end to end: the real client library against a fake API server speaking HTTP,
 * with the cluster's own controllers (Deployments, Jobs, CloudNativePG) simulated.
 */
const assets = {
  prometheusRule: "groups:\n  - name: canopy\n    rules: []\n",
  dashboards: { "canopy.json": "{}" },
};
const failingImage = (job: Stored) =>
  String(
    (job.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]
      ?.image,
  ).endsWith("-bad");

const api = new FakeApiServer([
  ...builtIn,
  ...canopy,
  ...cloudNativePg,
  ...redisOperator,
  ...prometheusOperator,
]);
let kubectl: KubernetesObjectApi;
let operator: ReturnType<typeof runOperator>;
let stopSimulation: () => void;

const res = (apiVersion: string, kind: string) => api.resource(apiVersion, kind);
const get = (apiVersion: string, kind: string, ns: string, name: string) =>
  api.store.get(res(apiVersion, kind), ns, name);
const canopyCluster = (ns: string, name = "canopy") => get("canopy.dev/v1alpha1", "CanopyCluster", ns, name);
const deploymentOf = (ns: string, name = "canopy") => get("apps/v1", "Deployment", ns, name);
const condition = (ns: string, type: Condition["type"], name = "canopy") =>
  ((canopyCluster(ns, name)?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find(
    (c) => c.type === type,
  );
const imageOf = (d: Stored | undefined) =>
  (d?.spec as { template: { spec: { containers: { image: string }[] } } } | undefined)?.template.spec
    .containers[0]?.image;

/** `kubectl apply --server-side` of a CanopyCluster. */
const applyCluster = (ns: string, spec: CanopyClusterSpec, name = "canopy") =>
  kubectl.patch(
    {
      apiVersion: "canopy.dev/v1alpha1",
      kind: "CanopyCluster",
      metadata: { name, namespace: ns },
      spec,
    } as never,
    undefined,
    undefined,
    "kubectl",
    true,
    PatchStrategy.ServerSideApply,
  );

/** Ready, and nothing left to do for the current generation. */
async function settled(ns: string, name = "canopy") {
  await expect
    .poll(
      () => {
        const c = canopyCluster(ns, name);
        const s = c?.status as { observedGeneration?: number } | undefined;
        return {
          observed: s?.observedGeneration === c?.metadata.generation,
          ready: condition(ns, "Ready", name)?.status,
          progressing: condition(ns, "Progressing", name)?.reason,
        };
      },
      { timeout: 15_000, interval: 50 },
    )
    .toEqual({ observed: true, ready: "True", progressing: "Reconciled" });
}

beforeAll(async () => {
  await api.start();
  stopSimulation = simulateControllers(api, { job: (job) => (failingImage(job) ? "fail" : "succeed") });
  kubectl = KubernetesObjectApi.makeApiClient(api.kubeConfig());
  operator = runOperator({
    kc: api.kubeConfig("operator"),
    assets,
    identity: "operator-0",
    resyncMs: 2_000,
    backoffBaseMs: 100,
  });
  await operator.ready;
});

afterAll(async () => {
  await operator.stop();
  stopSimulation();
  await api.stop();
});

describe("the operator reconciles a CanopyCluster", () => {
  it("creates every child, owned by the CanopyCluster, valid against its schema, and reports Ready", async () => {
    await applyCluster("create", {
      version: "1.0.0",
      redis: { cluster: {} },
      ingress: { enabled: true, host: "canopy.test" },
    });
    await settled("create");
    const kinds = api.store.log
      .filter((e) => e.object.metadata.namespace === "create" && e.type === "ADDED")
      .map((e) => e.object.kind);
    expect(new Set(kinds)).toEqual(
      new Set([
        "CanopyCluster",
        "Secret",
        "ServiceAccount",
        "Cluster",
        "Pooler",
        "RedisCluster",
        "Job",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Service",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Ingress",
        "ServiceMonitor",
        "PrometheusRule",
        "ConfigMap",
      ]),
    );
    const owner = canopyCluster("create");
    for (const r of api.resources.filter((r) => r.kind !== "CanopyCluster" && r.kind !== "Lease")) {
      for (const child of api.store.list(r, "create")) {
        expect(child.metadata.ownerReferences, `${child.kind}`).toEqual([
          expect.objectContaining({ uid: owner?.metadata.uid, controller: true }),
        ]);
        const { metadata, status: _status, ...rest } = child;
        const {
          uid: _u,
          resourceVersion: _r,
          generation: _g,
          creationTimestamp: _c,
          managedFields: _m,
          ...meta
        } = metadata;
        expect(validateObject({ ...rest, metadata: meta })).toMatchObject({ ok: true });
      }
    }
    expect(deploymentOf("create")?.spec).not.toHaveProperty("replicas");
    expect(get("autoscaling/v2", "HorizontalPodAutoscaler", "create", "canopy")?.spec).toMatchObject({
      minReplicas: 5,
      maxReplicas: 10,
    });
    expect(canopyCluster("create")?.status).toMatchObject({ version: "1.0.0" });
  });

  it("a version change migrates first, then rolls the Deployment", async () => {
    await applyCluster("update", { version: "1.0.0" });
    await settled("update");
    await applyCluster("update", { version: "1.1.0" });
    await settled("update");
    const jobs = api.store.log.filter(
      (e) => e.object.kind === "Job" && e.object.metadata.namespace === "update" && e.type === "ADDED",
    );
    expect(jobs.map((e) => e.object.metadata.name)).toHaveLength(2);
    // The migration Job for 1.1.0 completed before the Deployment first showed the 1.1.0 image.
    const migrated = api.store.log.findIndex(
      (e) =>
        e.object.kind === "Job" &&
        e.object.metadata.namespace === "update" &&
        (e.object.status as { succeeded?: number })?.succeeded === 1 &&
        e.object.metadata.name === jobs[1]?.object.metadata.name,
    );
    const rolled = api.store.log.findIndex(
      (e) =>
        e.object.kind === "Deployment" &&
        e.object.metadata.namespace === "update" &&
        imageOf(e.object)?.endsWith(":1.1.0"),
    );
    expect(migrated).toBeGreaterThan(-1);
    expect(rolled).toBeGreaterThan(migrated);
    expect(condition("update", "Ready")?.observedGeneration).toBe(2);
  });

  it("leaves a replica count the HPA set alone", async () => {
    await applyCluster("hpa", { version: "1.0.0" });
    await settled("hpa");
    // The HPA controller scales the Deployment under its own field manager.
    await kubectl.patch(
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "canopy", namespace: "hpa" },
        spec: { replicas: 7 },
      } as never,
      undefined,
      undefined,
      "kube-controller-manager",
      undefined,
      PatchStrategy.MergePatch,
    );
    await applyCluster("hpa", { version: "1.0.0", logLevel: "debug" });
    await settled("hpa");
    const d = deploymentOf("hpa");
    expect(d?.spec).toMatchObject({ replicas: 7 });
    expect(JSON.stringify(d?.spec)).toContain('"LOG_LEVEL","value":"debug"');
    expect(api.store.owners(res("apps/v1", "Deployment"), "hpa", "canopy", ["spec", "replicas"])).toEqual([
      "kube-controller-manager",
    ]);
  });

  it("restores a child deleted by hand", async () => {
    await applyCluster("restore", { version: "1.0.0" });
    await settled("restore");
    const before = get("v1", "Service", "restore", "canopy");
    await kubectl.delete({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "canopy", namespace: "restore" },
    });
    await expect
      .poll(() => get("v1", "Service", "restore", "canopy")?.metadata.uid, { timeout: 10_000 })
      .not.toBeUndefined();
    expect(get("v1", "Service", "restore", "canopy")?.metadata.uid).not.toBe(before?.metadata.uid);
  });

  it("a failed migration leaves the old version serving and says so in status", async () => {
    await applyCluster("failing", { version: "1.0.0" });
    await settled("failing");
    await applyCluster("failing", { version: "1.1.0-bad" });
    await expect
      .poll(() => condition("failing", "Degraded")?.reason, { timeout: 10_000 })
      .toBe("MigrationFailed");
    expect(condition("failing", "Degraded")?.message).toMatch(
      /migration Job canopy-migrate-\w+ for .*:1\.1\.0-bad failed.*:1\.0\.0 keeps serving/,
    );
    expect(condition("failing", "Ready")?.status).toBe("True");
    expect(condition("failing", "Progressing")).toMatchObject({ status: "False", reason: "MigrationFailed" });
    expect(imageOf(deploymentOf("failing"))).toMatch(/:1\.0\.0$/);
    const [event, ...more] = api.store.list(res("v1", "Event"), "failing");
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      type: "Warning",
      reason: "MigrationFailed",
      involvedObject: { kind: "CanopyCluster", name: "canopy" },
    });
    expect(validateObject({ ...event, metadata: { name: event?.metadata.name } })).toMatchObject({
      ok: true,
    });
    // Fixing the version recovers.
    await applyCluster("failing", { version: "1.1.0" });
    await settled("failing");
    expect(condition("failing", "Degraded")?.status).toBe("False");
  });

  it("an invalid spec is reported, not applied", async () => {
    await applyCluster("invalid", { version: "1.0.0", autoscaling: { minReplicas: 12, maxReplicas: 10 } });
    await expect
      .poll(() => condition("invalid", "Degraded")?.reason, { timeout: 10_000 })
      .toBe("InvalidSpec");
    expect(condition("invalid", "Degraded")?.message).toContain(
      "autoscaling.minReplicas (12) must not exceed autoscaling.maxReplicas (10)",
    );
    expect(deploymentOf("invalid")).toBeUndefined();
  });

  it("switching features off deletes their children, and a fixed replica count is applied", async () => {
    await applyCluster("toggle", {
      version: "1.0.0",
      ingress: { enabled: true, host: "canopy.test" },
      redis: { cluster: {} },
    });
    await settled("toggle");
    const present = () =>
      [
        "HorizontalPodAutoscaler",
        "Ingress",
        "Pooler",
        "RedisCluster",
        "ServiceMonitor",
        "PrometheusRule",
        "ConfigMap",
      ].filter((kind) =>
        api.resources.some((r) => r.kind === kind && api.store.list(r, "toggle").length > 0),
      );
    expect(present()).toHaveLength(7);
    await applyCluster("toggle", {
      version: "1.0.0",
      autoscaling: { enabled: false, replicas: 2 },
      postgres: { pooler: { enabled: false } },
      monitoring: { serviceMonitor: false, prometheusRule: false, dashboards: false },
    });
    await settled("toggle");
    expect(present()).toEqual([]);
    expect(deploymentOf("toggle")?.spec).toMatchObject({ replicas: 2 });
  });

  it("deleting the CanopyCluster deletes its children", async () => {
    await applyCluster("deletion", { version: "1.0.0" });
    await settled("deletion");
    await kubectl.delete({
      apiVersion: "canopy.dev/v1alpha1",
      kind: "CanopyCluster",
      metadata: { name: "canopy", namespace: "deletion" },
    });
    const left = () => api.resources.flatMap((r) => api.store.list(r, "deletion")).map((o) => o.kind);
    await expect.poll(left, { timeout: 5_000 }).toEqual([]);
  });

  it("every request the operator made is allowed by the chart's RBAC, and every rule was needed", async () => {
    const { managed } = await operatorRules();
    expect(checkRbac(managed, api.audit, "operator")).toEqual({ denied: [], unused: [] });
  });
});
