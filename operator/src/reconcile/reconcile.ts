import { names } from "../builders/meta.ts";
import { API_VERSION, KIND } from "../constants.ts";
import type { Kube } from "../kube/api.ts";
import type { MonitoringAssets } from "../monitoring/assets.ts";
import { type CanopyCluster, resolveSpec } from "../types.ts";
import { type ConditionState, conditions } from "./status.ts";
import { type Context, steps as defaultSteps, type Step } from "./steps.ts";

export type ReconcileResult = { requeueAfterMs?: number };
export type ReconcileDeps = { kube: Kube; assets: MonitoringAssets; now?: () => Date; steps?: Step[] };

/**
 * One level-based pass: read the CanopyCluster; gone means done (its children go with it through
 * their ownerReferences); run the steps until one stops the chain; write status. Errors propagate
 * to the caller (the queue backs off and retries).
 */
export async function reconcile(
  namespace: string,
  name: string,
  deps: ReconcileDeps,
): Promise<ReconcileResult> {
  const cluster = (await deps.kube.get({ apiVersion: API_VERSION, kind: KIND, namespace, name })) as
    | CanopyCluster
    | undefined;
  if (!cluster || cluster.metadata.deletionTimestamp) return {};
  const ctx: Context = {
    cluster,
    spec: resolveSpec(cluster.spec),
    kube: deps.kube,
    assets: deps.assets,
    progressing: { status: "True", reason: "Reconciling", message: "applying the desired state" },
    degraded: { status: "False", reason: "AsExpected", message: "" },
  };
  let result: ReconcileResult = {};
  for (const step of deps.steps ?? defaultSteps) {
    const r = await step.run(ctx).catch((err: unknown) => {
      throw new Error(`${step.name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    });
    if (r.done) {
      result = { requeueAfterMs: r.requeueAfterMs };
      break;
    }
  }
  await writeStatus(ctx, deps.now?.() ?? new Date());
  return result;
}

async function writeStatus(ctx: Context, now: Date) {
  const { cluster, kube } = ctx;
  const d = await kube.get({
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespace: cluster.metadata.namespace,
    name: names(cluster).app,
  });
  const image = d?.spec?.template?.spec?.containers?.[0]?.image as string | undefined;
  const available = (d?.status?.availableReplicas as number | undefined) ?? 0;
  const ready: ConditionState = !d
    ? { status: "False", reason: "NotDeployed", message: "the API Deployment does not exist yet" }
    : available > 0
      ? { status: "True", reason: "Available", message: `${available} replicas of ${image} available` }
      : { status: "False", reason: "Unavailable", message: `no replica of ${image} is available` };
  await kube.applyStatus(cluster.metadata.namespace, cluster.metadata.name, {
    observedGeneration: cluster.metadata.generation ?? 0,
    version: image?.slice(image.lastIndexOf(":") + 1),
    migratedImage: ctx.migratedImage ?? cluster.status?.migratedImage,
    replicas: d?.status?.replicas ?? 0,
    readyReplicas: d?.status?.readyReplicas ?? 0,
    conditions: conditions(
      cluster.status?.conditions,
      { Ready: ready, Progressing: ctx.progressing, Degraded: ctx.degraded },
      cluster.metadata.generation ?? 0,
      now.toISOString(),
    ),
  });
}

/** Best effort, from the queue's error path: say in status why reconciling failed. */
export async function reportError(kube: Kube, cluster: CanopyCluster, err: unknown, now = new Date()) {
  const message = err instanceof Error ? err.message : String(err);
  await kube.applyStatus(cluster.metadata.namespace, cluster.metadata.name, {
    observedGeneration: cluster.status?.observedGeneration ?? 0,
    conditions: conditions(
      cluster.status?.conditions,
      {
        Ready: cluster.status?.conditions?.find((c) => c.type === "Ready") ?? {
          status: "Unknown",
          reason: "ReconcileError",
          message,
        },
        Progressing: { status: "True", reason: "Retrying", message: "retrying with backoff" },
        Degraded: { status: "True", reason: "ReconcileError", message },
      },
      cluster.status?.observedGeneration ?? 0,
      now.toISOString(),
    ),
  });
}
