import type { CanopyClusterSpec } from "./types.ts";

/**
 * Rules between fields that the CRD's schema cannot state. Each problem says what to change;
 * an invalid spec is reported in status and left alone until it is edited.
 */
export function validateSpec(spec: CanopyClusterSpec): string[] {
  const problems: string[] = [];
  const a = spec.autoscaling ?? {};
  if ((a.minReplicas ?? 5) > (a.maxReplicas ?? 10)) {
    problems.push(
      `autoscaling.minReplicas (${a.minReplicas ?? 5}) must not exceed autoscaling.maxReplicas (${a.maxReplicas ?? 10})`,
    );
  }
  const pg = spec.postgres;
  if (pg?.external && (pg.instances !== undefined || pg.pooler !== undefined || pg.storage !== undefined)) {
    problems.push(
      "postgres: set either postgres.external or the in-cluster fields (instances, storage, pooler), not both",
    );
  }
  if (spec.redis?.external && spec.redis.cluster) {
    problems.push("redis: set either redis.external or redis.cluster, not both");
  }
  if (spec.auth?.jwksUrl && !spec.auth.secretName) {
    problems.push(
      "auth.jwksUrl needs auth.secretName: a Secret holding the cursor secret shared by every instance",
    );
  }
  if (spec.ingress?.enabled && !spec.ingress.host) {
    problems.push("ingress.enabled needs ingress.host");
  }
  return problems;
}
