import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
} from "@kubernetes/client-node";
import { parse } from "yaml";
import { API_VERSION, KIND } from "../constants.ts";
import { statusOf } from "../kube/client.ts";
import type { CanopyClusterSpec } from "../types.ts";
import type { Obj } from "./fake-api/fields.ts";
import { apiVersionOf, type Resource } from "./fake-api/resources.ts";
import { FakeApiServer } from "./fake-api/server.ts";
import { type Simulation, simulateControllers } from "./fake-api/simulate.ts";
import { repoRoot } from "./helm.ts";

export type Stored = KubernetesObject &
  Obj & { apiVersion: string; kind: string; metadata: NonNullable<KubernetesObject["metadata"]> };
/** A watch event as a test saw it; `rv` orders events across kinds (etcd revisions are global). */
export type SeenEvent = { type: string; kind: string; rv: number; object: Stored };

/**
 * What the end-to-end suites run the operator against: the cluster KUBECONFIG names when it is
 * set, else the fake API server of testing/fake-api with the cluster's controllers simulated.
 * Tests read the cluster only through the real client library, so they assert the same things
 * of both.
 *
 * A real cluster must serve the CRDs of CloudNativePG, the Redis operator and the Prometheus
 * Operator, with their operators running, and be able to pull CANOPY_E2E_IMAGE (the API image,
 * default the operator's) at the tags of CANOPY_E2E_VERSIONS (two, comma-separated; default
 * 1.0.0,1.1.0). CANOPY_E2E_TIMEOUT_MS bounds each wait (default 10 minutes). The suite applies the chart's CanopyCluster CRD itself, and works in namespaces
 * of its own (`canopy-e2e-<name>-<random>`), deleted when it ends.
 */
export type TestCluster = {
  /** The fake API server, when the suite runs against it (its audit log, its store). */
  fake: FakeApiServer | undefined;
  /** How long to wait for the cluster to settle: pods start slower than simulations. */
  timeoutMs: number;
  /** The image and versions CanopyCluster specs use. */
  image: string | undefined;
  versions: [string, string];
  /** A kubeconfig; on the fake server `user` names the caller in its audit log. */
  kubeConfig(user: string): KubeConfig;
  /** A namespace of the suite's own for `name`, created when missing. */
  namespace(name: string): Promise<string>;
  get(resource: Resource, namespace: string, name: string): Promise<Stored | undefined>;
  list(resource: Resource, namespace: string): Promise<Stored[]>;
  /** `kubectl apply --server-side` of a CanopyCluster, with the suite's image. */
  applyCanopyCluster(namespace: string, name: string, spec: CanopyClusterSpec): Promise<unknown>;
  /** Watches these kinds in a namespace from now on, keeping every event. */
  record(namespace: string, resources: Resource[]): Promise<{ events: SeenEvent[]; stop: () => void }>;
  stop(): Promise<void>;
};

export async function startTestCluster(resources: Resource[], simulation: Simulation = {}) {
  const kubeconfig = process.env.KUBECONFIG;
  return kubeconfig ? realCluster(kubeconfig) : fakeCluster(resources, simulation);
}

async function fakeCluster(resources: Resource[], simulation: Simulation): Promise<TestCluster> {
  const api = await new FakeApiServer(resources).start();
  const stopSimulation = simulateControllers(api, simulation);
  return {
    ...clientReads(api.kubeConfig(), undefined),
    fake: api,
    timeoutMs: 15_000,
    image: undefined,
    versions: ["1.0.0", "1.1.0"],
    kubeConfig: (user) => api.kubeConfig(user),
    namespace: async (name) => name, // the fake server needs no Namespace object
    async stop() {
      stopSimulation();
      await api.stop();
    },
  };
}

async function realCluster(kubeconfig: string): Promise<TestCluster> {
  const kubeConfig = () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    return kc;
  };
  const client = KubernetesObjectApi.makeApiClient(kubeConfig());
  const crd = parse(
    readFileSync(join(repoRoot, "charts/canopy-operator/crds/canopy.dev_canopyclusters.yaml"), "utf8"),
  );
  await client.patch(crd, undefined, undefined, "canopy-e2e", true, PatchStrategy.ServerSideApply);
  const suffix = randomBytes(3).toString("hex");
  const created: string[] = [];
  const versions = (process.env.CANOPY_E2E_VERSIONS ?? "1.0.0,1.1.0").split(",");
  if (versions.length !== 2) throw new Error("CANOPY_E2E_VERSIONS names two tags, comma-separated");
  const image = process.env.CANOPY_E2E_IMAGE;
  return {
    ...clientReads(kubeConfig(), image),
    fake: undefined,
    timeoutMs: Number(process.env.CANOPY_E2E_TIMEOUT_MS ?? 10 * 60_000),
    image,
    versions: versions as [string, string],
    kubeConfig,
    async namespace(name) {
      const ns = `canopy-e2e-${name}-${suffix}`;
      if (!created.includes(ns)) {
        await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
        created.push(ns);
      }
      return ns;
    },
    async stop() {
      for (const name of created) {
        await client.delete({ apiVersion: "v1", kind: "Namespace", metadata: { name } }).catch(() => {});
      }
    },
  };
}

/** Reads, watches and applies through the client library, as kubectl would. */
function clientReads(kc: KubeConfig, image: string | undefined) {
  const client = KubernetesObjectApi.makeApiClient(kc);
  const typed = (r: Resource, o: KubernetesObject) =>
    ({ ...o, apiVersion: apiVersionOf(r), kind: r.kind }) as Stored;
  return {
    async get(r: Resource, namespace: string, name: string) {
      try {
        return typed(
          r,
          await client.read({ apiVersion: apiVersionOf(r), kind: r.kind, metadata: { name, namespace } }),
        );
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }
    },
    // List items come without apiVersion and kind: they are put back.
    async list(r: Resource, namespace: string) {
      const { items } = await client.list(apiVersionOf(r), r.kind, namespace);
      return items.map((o) => typed(r, o));
    },
    applyCanopyCluster: (namespace: string, name: string, spec: CanopyClusterSpec) =>
      client.patch(
        {
          apiVersion: API_VERSION,
          kind: KIND,
          metadata: { name, namespace },
          spec: image ? { image, ...spec } : spec,
        } as KubernetesObject,
        undefined,
        undefined,
        "kubectl",
        true,
        PatchStrategy.ServerSideApply,
      ),
    async record(namespace: string, resources: Resource[]) {
      const events: SeenEvent[] = [];
      const watches = await Promise.all(
        resources.map((r) =>
          new Watch(kc).watch(
            `${r.group ? `/apis/${r.group}` : "/api"}/${r.version}/namespaces/${namespace}/${r.plural}`,
            {},
            (type, object: KubernetesObject) =>
              events.push({
                type,
                kind: r.kind,
                rv: Number(object.metadata?.resourceVersion),
                object: typed(r, object),
              }),
            () => {},
          ),
        ),
      );
      return {
        events,
        stop: () => {
          for (const w of watches) w.abort();
        },
      };
    },
  };
}

/** Which field managers own a field, from the object's managedFields (FieldsV1). */
export function fieldOwners(o: Stored | undefined, path: string[]): string[] {
  const entries = (o?.metadata.managedFields ?? []) as { manager?: string; fieldsV1?: Obj }[];
  return entries
    .filter((e) => {
      let cur: unknown = e.fieldsV1;
      for (const k of path) cur = (cur as Obj | undefined)?.[`f:${k}`];
      return cur !== undefined;
    })
    .map((e) => e.manager ?? "");
}
