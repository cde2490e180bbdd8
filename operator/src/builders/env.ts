import type { CanopyCluster, ResolvedSpec } from "../types.ts";
import { names } from "./meta.ts";

export type EnvVar = {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string; optional?: boolean } };
};

const secretRef = (name: string, key: string, optional?: boolean): EnvVar["valueFrom"] => ({
  secretKeyRef: optional === undefined ? { name, key } : { name, key, optional },
});

/**
 * How the API reaches Postgres. `direct` (the migration Job) bypasses the pooler: migrations
 * take session-level locks that a transaction-mode pooler would not keep.
 */
export function databaseEnv(c: CanopyCluster, r: ResolvedSpec, direct: boolean): EnvVar[] {
  const n = names(c);
  const pg = r.postgres;
  if (pg.mode === "external") {
    return [
      { name: "DATABASE_URL", valueFrom: secretRef(pg.external.secretName, pg.external.urlKey) },
      ...(pg.external.replicaUrlsKey && !direct
        ? [
            {
              name: "DATABASE_REPLICA_URLS",
              valueFrom: secretRef(pg.external.secretName, pg.external.replicaUrlsKey),
            },
          ]
        : []),
    ];
  }
  const host = pg.pooler.enabled && !direct ? n.pooler : `${n.db}-rw`;
  const url = (h: string) => `postgresql://$(DB_USER):$(DB_PASSWORD)@${h}:5432/canopy`;
  return [
    { name: "DB_USER", valueFrom: secretRef(n.dbApp, "username") },
    { name: "DB_PASSWORD", valueFrom: secretRef(n.dbApp, "password") },
    { name: "DATABASE_URL", value: url(host) },
    ...(pg.instances > 1 && !direct ? [{ name: "DATABASE_REPLICA_URLS", value: url(`${n.db}-ro`) }] : []),
  ];
}

/** The API's environment (services/api/src/config.ts), in the order the chart writes it. */
export function apiEnv(c: CanopyCluster, r: ResolvedSpec): EnvVar[] {
  const n = names(c);
  const value = (name: string, v: string | number): EnvVar => ({ name, value: String(v) });
  const redis: EnvVar[] =
    r.redis.mode === "cluster"
      ? [value("REDIS_CLUSTER_NODES", `${n.redis}-leader:6379`)]
      : r.redis.mode === "external"
        ? [
            {
              name: r.redis.clusterNodes ? "REDIS_CLUSTER_NODES" : "REDIS_URL",
              valueFrom: secretRef(r.redis.secretName, r.redis.key),
            },
          ]
        : [];
  return [
    value("NODE_ENV", "production"),
    value("PORT", 8080),
    value("LOG_LEVEL", r.logLevel),
    value("DB_POOL_MAX", r.dbPoolMax),
    value("SLOW_QUERY_MS", r.slowQueryMs),
    value("CACHE_TTL_HIERARCHY_S", r.cache.ttlHierarchySeconds),
    value("CACHE_TTL_PERMISSIONS_S", r.cache.ttlPermissionsSeconds),
    value("CACHE_TTL_QUERY_S", r.cache.ttlQuerySeconds),
    value("STALENESS_BOUND_MS", r.cache.stalenessBoundMs),
    value("SHUTDOWN_TIMEOUT_MS", r.shutdown.drainTimeoutSeconds * 1000),
    value("AUTH_MODE", "jwt"),
    r.auth.jwksUrl
      ? value("AUTH_JWKS_URL", r.auth.jwksUrl)
      : { name: "AUTH_JWT_SECRET", valueFrom: secretRef(n.auth, r.auth.jwtSecretKey) },
    { name: "CURSOR_SECRET", valueFrom: secretRef(n.auth, r.auth.cursorSecretKey, !r.auth.jwksUrl) },
    ...(r.auth.issuer ? [value("AUTH_ISSUER", r.auth.issuer)] : []),
    ...(r.auth.audience ? [value("AUTH_AUDIENCE", r.auth.audience)] : []),
    ...databaseEnv(c, r, false),
    ...redis,
  ];
}
