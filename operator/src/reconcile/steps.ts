import { buildAuthSecret } from "../builders/auth.ts";
import { buildHorizontalPodAutoscaler, buildPodDisruptionBudget } from "../builders/autoscaling.ts";
import { buildPooler, buildPostgresCluster, buildRedisCluster } from "../builders/data.ts";
import { buildDeployment } from "../builders/deployment.ts";
import { buildEvent } from "../builders/event.ts";
import { names } from "../builders/meta.ts";
import { buildMigrationJob } from "../builders/migration-job.ts";
import {
  buildDashboardsConfigMap,
  buildPrometheusRule,
  buildServiceMonitor,
} from "../builders/monitoring.ts";
import {
  buildIngress,
  buildNetworkPolicy,
  buildService,
  buildServiceAccount,
} from "../builders/networking.ts";
import type { Kube, KubeObject, Ref } from "../kube/api.ts";
import type { MonitoringAssets } from "../monitoring/assets.ts";
import type { CanopyCluster, ResolvedSpec } from "../types.ts";
import { validateSpec } from "../validate.ts";
import type { ConditionState } from "./status.ts";

export type Context = {
  cluster: CanopyCluster;
  spec: ResolvedSpec;
  kube: Kube;
  assets: MonitoringAssets;
  /** What the steps learnt, turned into status at the end. */
  progressing: ConditionState;
  degraded: ConditionState;
  migratedImage?: string;
};

/** A step ends the chain (with an optional requeue) or lets the next one run. */
export type StepResult = { done: false } | { done: true; requeueAfterMs?: number };
export type Step = { name: string; run: (ctx: Context) => Promise<StepResult> };

const next: StepResult = { done: false };
const stop = (requeueAfterMs?: number): StepResult => ({ done: true, requeueAfterMs });

const ref = (ctx: Context, apiVersion: string, kind: string, name: string): Ref => ({
  apiVersion,
  kind,
  name,
  namespace: ctx.cluster.metadata.namespace,
});

/** Applies the object, or deletes the child of that kind and name when the spec no longer asks for it. */
async function applyOrDelete(ctx: Context, obj: KubeObject | object | undefined, kind: Ref & object) {
  if (obj) await ctx.kube.apply(obj);
  else await ctx.kube.delete(kind);
}

export const validate: Step = {
  name: "validate",
  async run(ctx) {
    const problems = validateSpec(ctx.cluster.spec);
    if (problems.length === 0) return next;
    ctx.degraded = { status: "True", reason: "InvalidSpec", message: problems.join("; ") };
    ctx.progressing = {
      status: "False",
      reason: "InvalidSpec",
      message: "fix the spec; nothing was changed",
    };
    return stop();
  },
};

export const ensureIdentity: Step = {
  name: "identity",
  async run(ctx) {
    const secret = buildAuthSecret(ctx.cluster);
    if (secret) await ctx.kube.createIfAbsent(secret);
    await ctx.kube.apply(buildServiceAccount(ctx.cluster));
    return next;
  },
};

export const ensurePostgres: Step = {
  name: "postgres",
  async run(ctx) {
    if (ctx.spec.postgres.mode !== "cnpg") return next;
    if (!(await ctx.kube.serves("postgresql.cnpg.io/v1", "Cluster"))) {
      ctx.degraded = {
        status: "True",
        reason: "PostgresOperatorMissing",
        message:
          "CloudNativePG is not installed (postgresql.cnpg.io/v1 Cluster is not served): install it, or set spec.postgres.external",
      };
      ctx.progressing = {
        status: "False",
        reason: "PostgresOperatorMissing",
        message: "waiting for CloudNativePG",
      };
      return stop(60_000);
    }
    const podMonitor = await ctx.kube.serves("monitoring.coreos.com/v1", "PodMonitor");
    const cluster = await ctx.kube.apply(buildPostgresCluster(ctx.cluster, podMonitor) as object);
    await applyOrDelete(
      ctx,
      buildPooler(ctx.cluster),
      ref(ctx, "postgresql.cnpg.io/v1", "Pooler", names(ctx.cluster).pooler),
    );
    if (!((cluster.status?.readyInstances ?? 0) >= 1)) {
      ctx.progressing = {
        status: "True",
        reason: "WaitingForDatabase",
        message: `waiting for the CloudNativePG Cluster ${names(ctx.cluster).db} to have a ready primary`,
      };
      return stop(10_000);
    }
    return next;
  },
};

/** The RedisCluster is only a cache: switching to an external Redis or none deletes it (a database is never deleted). */
export const ensureRedis: Step = {
  name: "redis",
  async run(ctx) {
    const redis = buildRedisCluster(ctx.cluster);
    const served = await ctx.kube.serves("redis.redis.opstreelabs.in/v1beta2", "RedisCluster");
    if (!redis) {
      if (served)
        await ctx.kube.delete(
          ref(ctx, "redis.redis.opstreelabs.in/v1beta2", "RedisCluster", names(ctx.cluster).redis),
        );
      return next;
    }
    if (!served) {
      ctx.degraded = {
        status: "True",
        reason: "RedisOperatorMissing",
        message:
          "the redis-operator is not installed (RedisCluster is not served): install it, or set spec.redis.external",
      };
      return stop(60_000);
    }
    await ctx.kube.apply(redis);
    return next;
  },
};

/**
 * A new image is migrated before the Deployment rolls to it. A failed migration leaves the
 * Deployment on its old image (still serving) and says so in status.
 */
export const migrate: Step = {
  name: "migrate",
  async run(ctx) {
    const image = ctx.spec.image;
    const current = await ctx.kube.get(ref(ctx, "apps/v1", "Deployment", names(ctx.cluster).app));
    const serving = current?.spec?.template?.spec?.containers?.[0]?.image as string | undefined;
    if (serving === image || ctx.cluster.status?.migratedImage === image) {
      ctx.migratedImage = image;
      return next;
    }
    const job = await ctx.kube.apply(buildMigrationJob(ctx.cluster));
    const jobConditions = (job.status?.conditions ?? []) as {
      type: string;
      status: string;
      message?: string;
    }[];
    const failed = jobConditions.find(
      (c) => (c.type === "Failed" || c.type === "FailureTarget") && c.status === "True",
    );
    if (failed) {
      ctx.degraded = {
        status: "True",
        reason: "MigrationFailed",
        message:
          `migration Job ${job.metadata.name} for ${image} failed${failed.message ? `: ${failed.message}` : ""}; ` +
          `${serving ? `${serving} keeps serving` : "nothing is serving yet"}. ` +
          "Read the Job's logs, then delete the Job to retry or change spec.version",
      };
      ctx.progressing = {
        status: "False",
        reason: "MigrationFailed",
        message: "the rollout waits for a successful migration",
      };
      await ctx.kube.createIfAbsent(
        buildEvent(ctx.cluster, "Warning", "MigrationFailed", ctx.degraded.message, new Date()),
      );
      return stop();
    }
    const complete =
      (job.status?.succeeded ?? 0) >= 1 ||
      jobConditions.some((c) => c.type === "Complete" && c.status === "True");
    if (!complete) {
      ctx.progressing = {
        status: "True",
        reason: "Migrating",
        message: `waiting for migration Job ${job.metadata.name} to complete before rolling out ${image}`,
      };
      return stop(15_000);
    }
    ctx.migratedImage = image;
    return next;
  },
};

export const ensureDeployment: Step = {
  name: "deployment",
  async run(ctx) {
    const c = ctx.cluster;
    const hpa = ref(ctx, "autoscaling/v2", "HorizontalPodAutoscaler", names(c).app);
    // Autoscaling switched off: the HPA goes first, or its controller would scale the fixed
    // replica count back to its own bounds before noticing it is gone.
    if (!ctx.spec.autoscaling.enabled) await ctx.kube.delete(hpa);
    await ctx.kube.apply(buildDeployment(c));
    if (ctx.spec.autoscaling.enabled) await ctx.kube.apply(buildHorizontalPodAutoscaler(c));
    return next;
  },
};

export const ensureNetworking: Step = {
  name: "networking",
  async run(ctx) {
    const c = ctx.cluster;
    await ctx.kube.apply(buildService(c));
    await ctx.kube.apply(buildPodDisruptionBudget(c));
    await ctx.kube.apply(buildNetworkPolicy(c));
    await applyOrDelete(ctx, buildIngress(c), ref(ctx, "networking.k8s.io/v1", "Ingress", names(c).app));
    return next;
  },
};

export const ensureMonitoring: Step = {
  name: "monitoring",
  async run(ctx) {
    const c = ctx.cluster;
    // The Prometheus Operator's kinds are applied only where they are served, as the chart does.
    for (const [obj, kind] of [
      [buildServiceMonitor(c), "ServiceMonitor"],
      [buildPrometheusRule(c, ctx.assets), "PrometheusRule"],
    ] as const) {
      if (!(await ctx.kube.serves("monitoring.coreos.com/v1", kind))) continue;
      await applyOrDelete(ctx, obj, ref(ctx, "monitoring.coreos.com/v1", kind, names(c).app));
    }
    await applyOrDelete(
      ctx,
      buildDashboardsConfigMap(c, ctx.assets),
      ref(ctx, "v1", "ConfigMap", names(c).dashboards),
    );
    return next;
  },
};

/** Progressing until the Deployment has rolled out its current generation everywhere. */
export const awaitRollout: Step = {
  name: "rollout",
  async run(ctx) {
    const d = await ctx.kube.get(ref(ctx, "apps/v1", "Deployment", names(ctx.cluster).app));
    const s = d?.status ?? {};
    const want = (d?.spec?.replicas as number | undefined) ?? s.replicas ?? 1;
    const rolled =
      d !== undefined &&
      (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
      (s.updatedReplicas ?? 0) >= want &&
      (s.availableReplicas ?? 0) >= want;
    if (!rolled) {
      ctx.progressing = {
        status: "True",
        reason: "RollingOut",
        message: `${s.updatedReplicas ?? 0} of ${want} replicas updated to ${ctx.spec.image}, ${s.availableReplicas ?? 0} available`,
      };
      return stop(10_000);
    }
    ctx.progressing = { status: "False", reason: "Reconciled", message: `${ctx.spec.image} is rolled out` };
    return next;
  },
};

/** The chain, in order. */
export const steps: Step[] = [
  validate,
  ensureIdentity,
  ensurePostgres,
  ensureRedis,
  migrate,
  ensureDeployment,
  ensureNetworking,
  ensureMonitoring,
  awaitRollout,
];
