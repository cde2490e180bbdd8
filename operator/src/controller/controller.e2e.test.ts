import { KubernetesObjectApi } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIELD_MANAGER } from "../constants.ts";
import { runOperator } from "../operator.ts";
import type { Obj } from "../testing/fake-api/fields.ts";
import {
  apiVersionOf,
  builtIn,
  canopy,
  cloudNativePg,
  prometheusOperator,
  type Resource,
  redisOperator,
} from "../testing/fake-api/resources.ts";
import { checkRbac, operatorRules } from "../testing/rbac.ts";
import { validateObject } from "../testing/schemas.ts";
import { fieldOwners, type Stored, startTestCluster, type TestCluster } from "../testing/test-cluster.ts";
import type { CanopyClusterSpec, Condition } from "../types.ts";

/**
 * The operator end to end through the real client library: against the cluster KUBECONFIG
 * names, or else a fake API server speaking HTTP with the cluster's own controllers (Deployments,
 * Jobs, CloudNativePG) simulated (see testing/test-cluster.ts). Every assertion reads the cluster
 * through the client; the two that need the fake server's simulation or audit log say so.
 */
const onFake = !process.env.KUBECONFIG;
const assets = {
  prometheusRule: "groups:\n  - name: canopy\n    rules: []\n",
  dashboards: { "canopy.json": "{}" },
};
const resources = [...builtIn, ...canopy, ...cloudNativePg, ...redisOperator, ...prometheusOperator];
/** The kinds the operator creates: everything it serves but its own, Leases and Namespaces. */
const childKinds = resources.filter((r) => !["CanopyCluster", "Lease", "Namespace"].includes(r.kind));
const failingImage = (job: Stored) =>
  String(
    (job.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]
      ?.image,
  ).endsWith("-bad");

let cluster: TestCluster;
let kubectl: KubernetesObjectApi;
let operator: ReturnType<typeof runOperator>;
let v1: string;
let v2: string;

const res = (apiVersion: string, kind: string) =>
  resources.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind) as Resource;
const get = (apiVersion: string, kind: string, ns: string, name = "canopy") =>
  cluster.get(res(apiVersion, kind), ns, name);
const canopyCluster = (ns: string, name = "canopy") => get("canopy.dev/v1alpha1", "CanopyCluster", ns, name);
const deploymentOf = (ns: string) => get("apps/v1", "Deployment", ns);
const conditionOf = (c: Stored | undefined, type: Condition["type"]) =>
  ((c?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((x) => x.type === type);
const condition = async (ns: string, type: Condition["type"]) => conditionOf(await canopyCluster(ns), type);
const imageOf = (d: Stored | undefined) =>
  (d?.spec as { template: { spec: { containers: { image: string }[] } } } | undefined)?.template.spec
    .containers[0]?.image;
const poll = <T>(fn: () => Promise<T>) => expect.poll(fn, { timeout: cluster.timeoutMs, interval: 50 });

/** The objects the CanopyCluster controls in a namespace. */
async function children(ns: string) {
  const owner = await canopyCluster(ns);
  const all = await Promise.all(childKinds.map((r) => cluster.list(r, ns)));
  return all
    .flat()
    .filter((o) =>
      ((o.metadata.ownerReferences ?? []) as { uid: string; controller?: boolean }[]).some(
        (ref) => ref.controller && ref.uid === owner?.metadata.uid,
      ),
    );
}

const applyCluster = (ns: string, spec: CanopyClusterSpec) => cluster.applyCanopyCluster(ns, "canopy", spec);

/** Ready, and nothing left to do for the current generation. */
async function settled(ns: string) {
  await poll(async () => {
    const c = await canopyCluster(ns);
    const s = c?.status as { observedGeneration?: number } | undefined;
    return {
      observed: s?.observedGeneration === c?.metadata.generation,
      ready: conditionOf(c, "Ready")?.status,
      progressing: conditionOf(c, "Progressing")?.reason,
    };
  }).toEqual({ observed: true, ready: "True", progressing: "Reconciled" });
}

beforeAll(async () => {
  cluster = await startTestCluster(resources, {
    job: (job) => (failingImage(job) ? "fail" : "succeed"),
  });
  [v1, v2] = cluster.versions;
  kubectl = KubernetesObjectApi.makeApiClient(cluster.kubeConfig("test"));
  operator = runOperator({
    kc: cluster.kubeConfig("operator"),
    assets,
    identity: "operator-0",
    resyncMs: 2_000,
    backoffBaseMs: 100,
  });
  await operator.ready;
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  await cluster?.stop();
});

describe("the operator reconciles a CanopyCluster", { timeout: onFake ? 30_000 : 30 * 60_000 }, () => {
  it("creates every child, owned by the CanopyCluster, valid against its schema, and reports Ready", async () => {
    const ns = await cluster.namespace("create");
    await applyCluster(ns, {
      version: v1,
      redis: { cluster: {} },
      ingress: { enabled: true, host: "canopy.test" },
    });
    await settled(ns);
    const mine = await children(ns);
    expect(new Set(mine.map((o) => o.kind))).toEqual(
      new Set([
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
    for (const child of mine) {
      expect(child.metadata.ownerReferences, `${child.kind}`).toHaveLength(1);
      const { metadata, status: _status, ...rest } = child;
      const {
        uid: _u,
        resourceVersion: _r,
        generation: _g,
        creationTimestamp: _c,
        managedFields: _m,
        ...meta
      } = metadata;
      expect(validateObject({ ...rest, metadata: meta } as Obj), `${child.kind}`).toMatchObject({ ok: true });
    }
    // The operator never writes the replica count the HPA owns.
    expect(fieldOwners(await deploymentOf(ns), ["spec", "replicas"])).not.toContain(FIELD_MANAGER);
    expect((await get("autoscaling/v2", "HorizontalPodAutoscaler", ns))?.spec).toMatchObject({
      minReplicas: 5,
      maxReplicas: 10,
    });
    expect((await canopyCluster(ns))?.status).toMatchObject({ version: v1 });
  });

  it("a version change migrates first, then rolls the Deployment", async () => {
    const ns = await cluster.namespace("update");
    await applyCluster(ns, { version: v1 });
    await settled(ns);
    const seen = await cluster.record(ns, [res("batch/v1", "Job"), res("apps/v1", "Deployment")]);
    await applyCluster(ns, { version: v2 });
    await settled(ns);
    seen.stop();
    const migrated = seen.events.find(
      (e) =>
        e.kind === "Job" &&
        (e.object.status as { succeeded?: number } | undefined)?.succeeded === 1 &&
        (e.object.metadata.annotations as Record<string, string> | undefined)?.[
          "canopy.dev/migration-image"
        ]?.endsWith(`:${v2}`),
    );
    const rolled = seen.events.find((e) => e.kind === "Deployment" && imageOf(e.object)?.endsWith(`:${v2}`));
    expect(migrated).toBeDefined();
    expect(rolled).toBeDefined();
    // etcd revisions are global: the Job for the new version completed before the Deployment changed.
    expect(rolled?.rv).toBeGreaterThan(migrated?.rv ?? Number.POSITIVE_INFINITY);
    expect((await condition(ns, "Ready"))?.observedGeneration).toBe(2);
  });

  it("leaves a replica count the HPA set alone", async () => {
    const ns = await cluster.namespace("hpa");
    await applyCluster(ns, { version: v1 });
    await settled(ns);
    // The HPA controller scales the Deployment under its own field manager (to 5, its minimum).
    const replicas = async () =>
      ((await deploymentOf(ns))?.spec as { replicas?: number } | undefined)?.replicas;
    await poll(replicas).toBe(5);
    const scaled = await replicas();
    await applyCluster(ns, { version: v1, logLevel: "debug" });
    await settled(ns);
    const d = await deploymentOf(ns);
    expect((d?.spec as { replicas?: number } | undefined)?.replicas).toBe(scaled);
    expect(JSON.stringify(d?.spec)).toContain('"LOG_LEVEL","value":"debug"');
    expect(fieldOwners(d, ["spec", "replicas"])).not.toContain(FIELD_MANAGER);
    expect(fieldOwners(d, ["spec", "replicas"])).not.toEqual([]);
  });

  it("restores a child deleted by hand", async () => {
    const ns = await cluster.namespace("restore");
    await applyCluster(ns, { version: v1 });
    await settled(ns);
    const before = await get("v1", "Service", ns);
    await kubectl.delete({ apiVersion: "v1", kind: "Service", metadata: { name: "canopy", namespace: ns } });
    await poll(async () => (await get("v1", "Service", ns))?.metadata.uid).not.toBeUndefined();
    expect((await get("v1", "Service", ns))?.metadata.uid).not.toBe(before?.metadata.uid);
  });

  // A real Job fails only after its image pulls and backoff run out (minutes): only the fake's
  // simulated Job controller can fail one on cue.
  it.runIf(onFake)("a failed migration leaves the old version serving and says so in status", async () => {
    const ns = await cluster.namespace("failing");
    await applyCluster(ns, { version: v1 });
    await settled(ns);
    await applyCluster(ns, { version: `${v2}-bad` });
    await poll(async () => (await condition(ns, "Degraded"))?.reason).toBe("MigrationFailed");
    const c = await canopyCluster(ns);
    expect(conditionOf(c, "Degraded")?.message).toMatch(
      new RegExp(`migration Job canopy-migrate-\\w+ for .*:${v2}-bad failed.*:${v1} keeps serving`),
    );
    expect(conditionOf(c, "Ready")?.status).toBe("True");
    expect(conditionOf(c, "Progressing")).toMatchObject({ status: "False", reason: "MigrationFailed" });
    expect(imageOf(await deploymentOf(ns))).toMatch(new RegExp(`:${v1}$`));
    const [event, ...more] = await cluster.list(res("v1", "Event"), ns);
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      type: "Warning",
      reason: "MigrationFailed",
      involvedObject: { kind: "CanopyCluster", name: "canopy" },
    });
    expect(validateObject({ ...event, metadata: { name: event?.metadata.name } } as Obj)).toMatchObject({
      ok: true,
    });
    // Fixing the version recovers.
    await applyCluster(ns, { version: v2 });
    await settled(ns);
    expect((await condition(ns, "Degraded"))?.status).toBe("False");
  });

  it("an invalid spec is reported, not applied", async () => {
    const ns = await cluster.namespace("invalid");
    await applyCluster(ns, { version: v1, autoscaling: { minReplicas: 12, maxReplicas: 10 } });
    await poll(async () => (await condition(ns, "Degraded"))?.reason).toBe("InvalidSpec");
    expect((await condition(ns, "Degraded"))?.message).toContain(
      "autoscaling.minReplicas (12) must not exceed autoscaling.maxReplicas (10)",
    );
    expect(await deploymentOf(ns)).toBeUndefined();
  });

  it("switching features off deletes their children, and a fixed replica count is applied", async () => {
    const ns = await cluster.namespace("toggle");
    await applyCluster(ns, {
      version: v1,
      ingress: { enabled: true, host: "canopy.test" },
      redis: { cluster: {} },
    });
    await settled(ns);
    const optional = [
      "HorizontalPodAutoscaler",
      "Ingress",
      "Pooler",
      "RedisCluster",
      "ServiceMonitor",
      "PrometheusRule",
      "ConfigMap",
    ];
    const present = async () =>
      [...new Set((await children(ns)).map((o) => o.kind))].filter((k) => optional.includes(k)).sort();
    expect(await present()).toEqual([...optional].sort());
    await applyCluster(ns, {
      version: v1,
      autoscaling: { enabled: false, replicas: 2 },
      postgres: { pooler: { enabled: false } },
      monitoring: { serviceMonitor: false, prometheusRule: false, dashboards: false },
    });
    await settled(ns);
    expect(await present()).toEqual([]);
    expect((await deploymentOf(ns))?.spec).toMatchObject({ replicas: 2 });
  });

  it("deleting the CanopyCluster deletes its children", async () => {
    const ns = await cluster.namespace("deletion");
    await applyCluster(ns, { version: v1 });
    await settled(ns);
    const owned = await children(ns);
    expect(owned.length).toBeGreaterThan(5);
    await kubectl.delete({
      apiVersion: "canopy.dev/v1alpha1",
      kind: "CanopyCluster",
      metadata: { name: "canopy", namespace: ns },
    });
    const left = async () => {
      const still = await Promise.all(
        owned.map((o) => cluster.get(res(o.apiVersion, o.kind), ns, o.metadata.name as string)),
      );
      return still.filter((o, i) => o?.metadata.uid === owned[i]?.metadata.uid).map((o) => o?.kind);
    };
    await poll(left).toEqual([]);
  });

  // Only the fake server keeps an audit log of the operator's requests.
  it.runIf(onFake)(
    "every request the operator made is allowed by the chart's RBAC, and every rule was needed",
    async () => {
      const { managed } = await operatorRules();
      expect(checkRbac(managed, cluster.fake?.audit ?? [], "operator")).toEqual({ denied: [], unused: [] });
    },
  );
});
