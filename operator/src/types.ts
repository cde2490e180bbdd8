import { DEFAULT_IMAGE } from "./constants.ts";

/** The CanopyCluster custom resource (canopy.dev/v1alpha1), as the CRD in charts/canopy-operator/crds describes it. */
export type Quantities = { cpu?: string; memory?: string };
export type Resources = { requests?: Quantities; limits?: Quantities };

export type CanopyClusterSpec = {
  version: string;
  image?: string;
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  autoscaling?: {
    enabled?: boolean;
    replicas?: number;
    minReplicas?: number;
    maxReplicas?: number;
    targetCPUUtilizationPercentage?: number;
    scaleDownStabilizationSeconds?: number;
  };
  resources?: Resources;
  logLevel?: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  cache?: {
    ttlHierarchySeconds?: number;
    ttlPermissionsSeconds?: number;
    ttlQuerySeconds?: number;
    stalenessBoundMs?: number;
  };
  postgres?: {
    instances?: number;
    storage?: { size?: string; storageClass?: string };
    pooler?: { enabled?: boolean; instances?: number; poolMode?: "session" | "transaction" };
    external?: { secretName: string; urlKey?: string; replicaUrlsKey?: string };
  };
  redis?: {
    cluster?: { size?: number; storage?: { size?: string; storageClass?: string } };
    external?: { secretName: string; key?: string; clusterNodes?: boolean };
  };
  ingress?: { enabled?: boolean; className?: string; host?: string; tls?: { secretName: string } };
  monitoring?: { serviceMonitor?: boolean; prometheusRule?: boolean; dashboards?: boolean };
  auth?: {
    secretName?: string;
    jwtSecretKey?: string;
    cursorSecretKey?: string;
    jwksUrl?: string;
    issuer?: string;
    audience?: string;
  };
};

export type Condition = {
  type: "Ready" | "Progressing" | "Degraded";
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  observedGeneration: number;
  lastTransitionTime: string;
};

export type CanopyClusterStatus = {
  observedGeneration?: number;
  version?: string;
  migratedImage?: string;
  replicas?: number;
  readyReplicas?: number;
  conditions?: Condition[];
};

export type CanopyCluster = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation?: number;
    resourceVersion?: string;
    deletionTimestamp?: string;
  };
  spec: CanopyClusterSpec;
  status?: CanopyClusterStatus;
};

/** The spec with every default filled in: builders read this, never the raw spec. */
export function resolveSpec(spec: CanopyClusterSpec) {
  const a = spec.autoscaling ?? {};
  const pg = spec.postgres ?? {};
  const auth = spec.auth ?? {};
  return {
    version: spec.version,
    image: `${spec.image ?? DEFAULT_IMAGE}:${spec.version}`,
    imagePullPolicy: spec.imagePullPolicy ?? "IfNotPresent",
    autoscaling: {
      enabled: a.enabled ?? true,
      replicas: a.replicas ?? 2,
      minReplicas: a.minReplicas ?? 5,
      maxReplicas: a.maxReplicas ?? 10,
      targetCPUUtilizationPercentage: a.targetCPUUtilizationPercentage ?? 70,
      scaleDownStabilizationSeconds: a.scaleDownStabilizationSeconds ?? 300,
    },
    resources: spec.resources ?? { requests: { cpu: "250m", memory: "256Mi" }, limits: { memory: "512Mi" } },
    logLevel: spec.logLevel ?? "info",
    dbPoolMax: 20,
    slowQueryMs: 100,
    cache: {
      ttlHierarchySeconds: spec.cache?.ttlHierarchySeconds ?? 3600,
      ttlPermissionsSeconds: spec.cache?.ttlPermissionsSeconds ?? 900,
      ttlQuerySeconds: spec.cache?.ttlQuerySeconds ?? 300,
      stalenessBoundMs: spec.cache?.stalenessBoundMs ?? 1000,
    },
    shutdown: { preStopSleepSeconds: 5, drainTimeoutSeconds: 10 },
    postgres: pg.external
      ? {
          mode: "external" as const,
          external: {
            secretName: pg.external.secretName,
            urlKey: pg.external.urlKey ?? "database-url",
            replicaUrlsKey: pg.external.replicaUrlsKey,
          },
        }
      : {
          mode: "cnpg" as const,
          instances: pg.instances ?? 3,
          storage: { size: pg.storage?.size ?? "10Gi", storageClass: pg.storage?.storageClass },
          pooler: {
            enabled: pg.pooler?.enabled ?? true,
            instances: pg.pooler?.instances ?? 2,
            poolMode: pg.pooler?.poolMode ?? "transaction",
          },
        },
    redis: spec.redis?.external
      ? {
          mode: "external" as const,
          secretName: spec.redis.external.secretName,
          key: spec.redis.external.key ?? "redis-url",
          clusterNodes: spec.redis.external.clusterNodes ?? false,
        }
      : spec.redis?.cluster
        ? {
            mode: "cluster" as const,
            size: spec.redis.cluster.size ?? 3,
            storage: {
              size: spec.redis.cluster.storage?.size ?? "1Gi",
              storageClass: spec.redis.cluster.storage?.storageClass,
            },
          }
        : { mode: "none" as const },
    ingress: {
      enabled: spec.ingress?.enabled ?? false,
      className: spec.ingress?.className,
      host: spec.ingress?.host ?? "canopy.example.com",
      tlsSecretName: spec.ingress?.tls?.secretName,
    },
    monitoring: {
      serviceMonitor: spec.monitoring?.serviceMonitor ?? true,
      prometheusRule: spec.monitoring?.prometheusRule ?? true,
      dashboards: spec.monitoring?.dashboards ?? true,
    },
    auth: {
      secretName: auth.secretName,
      jwtSecretKey: auth.jwtSecretKey ?? "jwt-secret",
      cursorSecretKey: auth.cursorSecretKey ?? "cursor-secret",
      jwksUrl: auth.jwksUrl,
      issuer: auth.issuer,
      audience: auth.audience,
    },
  };
}

export type ResolvedSpec = ReturnType<typeof resolveSpec>;
