import { type CanopyCluster, resolveSpec } from "../types.ts";
import { names, objectMeta } from "./meta.ts";

/**
 * The CloudNativePG Cluster: a primary and instances-1 streaming replicas. CloudNativePG serves
 * <name>-rw and <name>-ro and writes the application credentials to the Secret <name>-app.
 * undefined when the spec names an external database.
 */
export function buildPostgresCluster(c: CanopyCluster, podMonitor = false) {
  const r = resolveSpec(c.spec);
  const pg = r.postgres;
  if (pg.mode !== "cnpg") return undefined;
  return {
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "Cluster",
    metadata: objectMeta(c, r, names(c).db),
    spec: {
      instances: pg.instances,
      primaryUpdateStrategy: "unsupervised",
      bootstrap: { initdb: { database: "canopy", owner: "canopy" } },
      storage: {
        size: pg.storage.size,
        ...(pg.storage.storageClass ? { storageClass: pg.storage.storageClass } : {}),
      },
      ...(r.monitoring.serviceMonitor ? { monitoring: { enablePodMonitor: podMonitor } } : {}),
    },
  };
}

export function buildPooler(c: CanopyCluster) {
  const r = resolveSpec(c.spec);
  const pg = r.postgres;
  if (pg.mode !== "cnpg" || !pg.pooler.enabled) return undefined;
  return {
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "Pooler",
    metadata: objectMeta(c, r, names(c).pooler),
    spec: {
      cluster: { name: names(c).db },
      instances: pg.pooler.instances,
      type: "rw",
      pgbouncer: {
        poolMode: pg.pooler.poolMode,
        // The API names its statements; PgBouncer >= 1.21 keeps them across transactions.
        parameters: { max_prepared_statements: "200", max_client_conn: "1000", default_pool_size: "20" },
      },
    },
  };
}

/** A RedisCluster of the OT-Container-Kit redis-operator; undefined unless the spec asks for one. */
export function buildRedisCluster(c: CanopyCluster) {
  const r = resolveSpec(c.spec);
  if (r.redis.mode !== "cluster") return undefined;
  const { size, storage } = r.redis;
  return {
    apiVersion: "redis.redis.opstreelabs.in/v1beta2",
    kind: "RedisCluster",
    metadata: objectMeta(c, r, names(c).redis),
    spec: {
      clusterSize: size,
      persistenceEnabled: true,
      kubernetesConfig: { image: "quay.io/opstree/redis:v7.0.15", imagePullPolicy: "IfNotPresent" },
      redisExporter: {
        enabled: r.monitoring.serviceMonitor,
        image: "quay.io/opstree/redis-exporter:v1.44.0",
      },
      redisLeader: { replicas: size },
      redisFollower: { replicas: size },
      podSecurityContext: { runAsUser: 1000, fsGroup: 1000 },
      storage: {
        volumeClaimTemplate: {
          spec: {
            accessModes: ["ReadWriteOnce"],
            ...(storage.storageClass ? { storageClassName: storage.storageClass } : {}),
            resources: { requests: { storage: storage.size } },
          },
        },
      },
    },
  };
}
