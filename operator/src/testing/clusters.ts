import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { CanopyCluster, CanopyClusterSpec } from "../types.ts";
import { repoRoot } from "./helm.ts";

/** A CanopyCluster as the API server would hand it to the operator. */
export function cluster(
  spec: Partial<CanopyClusterSpec> = {},
  name = "canopy",
  namespace = "canopy",
): CanopyCluster {
  return {
    apiVersion: "canopy.dev/v1alpha1",
    kind: "CanopyCluster",
    metadata: { name, namespace, uid: "5f0c1b9e-0000-4000-8000-000000000001", generation: 1 },
    spec: { version: "0.1.0", ...spec },
  };
}

export const sampleCluster = (): CanopyCluster & { metadata: { uid: string } } => {
  const doc = parse(
    readFileSync(join(repoRoot, "operator/samples/canopycluster.yaml"), "utf8"),
  ) as CanopyCluster;
  return { ...doc, metadata: { ...doc.metadata, uid: "5f0c1b9e-0000-4000-8000-000000000002" } };
};

/** Specs that exercise each mode, shared by the builder, parity and e2e suites. */
export const specs: Record<string, Partial<CanopyClusterSpec>> = {
  defaults: {},
  "external database and redis, JWKS": {
    postgres: { external: { secretName: "canopy-database", replicaUrlsKey: "replica-urls" } },
    redis: { external: { secretName: "canopy-redis" } },
    auth: {
      secretName: "canopy-auth",
      jwksUrl: "https://auth.example.com/.well-known/jwks.json",
      issuer: "https://auth.example.com/",
      audience: "canopy",
    },
  },
  "everything in the cluster": {
    postgres: {
      instances: 3,
      storage: { size: "20Gi", storageClass: "fast" },
      pooler: { enabled: true, instances: 2 },
    },
    redis: { cluster: { size: 3 } },
    ingress: {
      enabled: true,
      className: "nginx",
      host: "canopy.example.com",
      tls: { secretName: "canopy-tls" },
    },
    logLevel: "debug",
    cache: { stalenessBoundMs: 500 },
  },
  "fixed replicas, no monitoring": {
    autoscaling: { enabled: false, replicas: 3 },
    monitoring: { serviceMonitor: false, prometheusRule: false, dashboards: false },
  },
};
