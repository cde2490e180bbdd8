/** What tests and scripts build on. Importing starts nothing. */
export { buildAuthSecret } from "./builders/auth.ts";
export { buildHorizontalPodAutoscaler, buildPodDisruptionBudget } from "./builders/autoscaling.ts";
export { buildPooler, buildPostgresCluster, buildRedisCluster } from "./builders/data.ts";
export { buildDeployment } from "./builders/deployment.ts";
export { buildMigrationJob } from "./builders/migration-job.ts";
export { buildDashboardsConfigMap, buildPrometheusRule, buildServiceMonitor } from "./builders/monitoring.ts";
export {
  buildIngress,
  buildNetworkPolicy,
  buildService,
  buildServiceAccount,
} from "./builders/networking.ts";
export * from "./constants.ts";
export { runOperator } from "./operator.ts";
export { reconcile } from "./reconcile/reconcile.ts";
export type { CanopyCluster, CanopyClusterSpec } from "./types.ts";
