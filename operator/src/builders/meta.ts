import { createHash } from "node:crypto";
import { API_VERSION, KIND, LABELS } from "../constants.ts";
import type { CanopyCluster, ResolvedSpec } from "../types.ts";

/** Child object names, derived from the CanopyCluster's name. */
export const names = (c: CanopyCluster) => {
  const n = c.metadata.name;
  return {
    app: n,
    db: `${n}-db`,
    dbApp: `${n}-db-app`,
    pooler: `${n}-db-pooler`,
    redis: `${n}-redis`,
    auth: c.spec.auth?.secretName ?? `${n}-auth`,
    dashboards: `${n}-dashboards`,
    migration: (image: string) => `${n}-migrate-${shortHash(image)}`,
  };
};

export const shortHash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 10);

export const selectorLabels = (c: CanopyCluster) => ({
  [LABELS.name]: "canopy",
  [LABELS.instance]: c.metadata.name,
});

export const labels = (c: CanopyCluster, r: ResolvedSpec) => ({
  ...selectorLabels(c),
  [LABELS.version]: r.version,
  [LABELS.managedBy]: "canopy-operator",
  [LABELS.partOf]: "canopy",
});

/**
 * Children carry a controller ownerReference, so deleting the CanopyCluster deletes them. No
 * blockOwnerDeletion: setting it needs update on canopyclusters/finalizers, which background
 * deletion does not.
 */
export const ownerReference = (c: CanopyCluster) => ({
  apiVersion: API_VERSION,
  kind: KIND,
  name: c.metadata.name,
  uid: c.metadata.uid,
  controller: true,
});

export const objectMeta = (
  c: CanopyCluster,
  r: ResolvedSpec,
  name: string,
  extraLabels: Record<string, string> = {},
) => ({
  name,
  namespace: c.metadata.namespace,
  labels: { ...labels(c, r), ...extraLabels },
  ownerReferences: [ownerReference(c)],
});
