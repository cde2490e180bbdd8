import { type KubeConfig, KubernetesObjectApi, makeInformer } from "@kubernetes/client-node";
import { API_VERSION, KIND, LABELS } from "../constants.ts";
import type { Kube, KubeObject } from "../kube/api.ts";
import type { Metrics } from "../metrics.ts";
import type { MonitoringAssets } from "../monitoring/assets.ts";
import { reconcile, reportError } from "../reconcile/reconcile.ts";
import type { CanopyCluster } from "../types.ts";
import { WorkQueue } from "./queue.ts";

export type ControllerOptions = {
  kc: KubeConfig;
  kube: Kube;
  assets: MonitoringAssets;
  metrics?: Metrics;
  /** Watch one namespace, or every namespace when undefined. */
  namespace?: string;
  workers?: number;
  resyncMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
};

/** The children whose changes (including deletion by hand) bring their CanopyCluster back to the queue. */
const watchedChildren = [
  ["apps/v1", "Deployment"],
  ["batch/v1", "Job"],
  ["v1", "Service"],
  ["autoscaling/v2", "HorizontalPodAutoscaler"],
  ["postgresql.cnpg.io/v1", "Cluster"],
] as const;

const pathFor = (apiVersion: string, plural: string, namespace?: string) =>
  `/${apiVersion.includes("/") ? "apis" : "api"}/${apiVersion}${namespace ? `/namespaces/${namespace}` : ""}/${plural}`;

/**
 * Informers on CanopyClusters and their children feed a work queue; each key is reconciled by
 * the chain of steps. Returns stop().
 */
export async function startController(o: ControllerOptions): Promise<{ stop: () => void }> {
  const log = o.log ?? (() => {});
  const objects = KubernetesObjectApi.makeApiClient(o.kc);
  const queue = new WorkQueue(
    {
      workers: o.workers ?? 2,
      resyncMs: o.resyncMs ?? 5 * 60_000,
      backoffBaseMs: o.backoffBaseMs ?? 500,
      backoffMaxMs: o.backoffMaxMs ?? 60_000,
    },
    async (key) => {
      const [namespace, name] = key.split("/") as [string, string];
      const started = performance.now();
      try {
        const r = await reconcile(namespace, name, { kube: o.kube, assets: o.assets });
        o.metrics?.reconciled("success", (performance.now() - started) / 1000);
        return r;
      } catch (err) {
        o.metrics?.reconciled("error", (performance.now() - started) / 1000);
        throw err;
      }
    },
    (key, err, retryInMs) => {
      log("reconcile failed", { key, error: err instanceof Error ? err.message : String(err), retryInMs });
      const [namespace, name] = key.split("/") as [string, string];
      void o.kube
        .get({ apiVersion: API_VERSION, kind: KIND, namespace, name })
        .then((c) => c && reportError(o.kube, c as CanopyCluster, err))
        .catch(() => {});
    },
  );

  const informers: { stop: () => Promise<void> | void }[] = [];
  let stopped = false;
  const watch = async (
    apiVersion: string,
    kind: string,
    plural: string,
    onEvent: (obj: KubeObject) => void,
    labelSelector?: string,
  ) => {
    const informer = makeInformer(
      o.kc,
      pathFor(apiVersion, plural, o.namespace),
      async () =>
        (await objects.list(
          apiVersion,
          kind,
          o.namespace,
          undefined,
          undefined,
          undefined,
          undefined,
          labelSelector,
        )) as never,
      labelSelector,
    );
    for (const event of ["add", "update", "delete"] as const)
      informer.on(event, (obj) => onEvent(obj as KubeObject));
    // An informer stops on error (the API server restarted, a watch expired): start it again.
    informer.on("error", (err: unknown) => {
      if (stopped) return;
      log("watch failed; restarting", { kind, error: err instanceof Error ? err.message : String(err) });
      setTimeout(() => {
        if (!stopped) void informer.start().catch(() => {});
      }, o.backoffBaseMs ?? 500).unref();
    });
    await informer.start();
    informers.push(informer);
  };

  const keyOf = (obj: KubeObject) => `${obj.metadata.namespace}/${obj.metadata.name}`;
  await watch(API_VERSION, KIND, "canopyclusters", (obj) => queue.add(keyOf(obj)));
  for (const [apiVersion, kind] of watchedChildren) {
    const resource = await objects
      .list(apiVersion, kind, o.namespace, undefined, undefined, undefined, undefined, undefined, 1)
      .then(() => true)
      .catch(() => false);
    if (!resource) continue; // e.g. CloudNativePG not installed; periodic resync covers it.
    const plural = `${kind.toLowerCase()}${kind.endsWith("s") ? "es" : "s"}`;
    await watch(
      apiVersion,
      kind,
      plural,
      (obj) => {
        const owner = obj.metadata.ownerReferences?.find(
          (r) => r.kind === KIND && r.apiVersion === API_VERSION,
        );
        if (owner) queue.add(`${obj.metadata.namespace}/${owner.name}`);
      },
      `${LABELS.managedBy}=canopy-operator`,
    );
  }
  return {
    stop() {
      stopped = true;
      queue.stop();
      for (const i of informers) void i.stop();
    },
  };
}
