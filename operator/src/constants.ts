/** Names the operator writes into the cluster, in one place. */
export const GROUP = "canopy.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = "CanopyCluster";
export const PLURAL = "canopyclusters";

/** Every apply goes through this one field manager. */
export const FIELD_MANAGER = "canopy-operator";

export const DEFAULT_IMAGE = "ghcr.io/canopy-dev/canopy-api";

export const LABELS = {
  name: "app.kubernetes.io/name",
  instance: "app.kubernetes.io/instance",
  version: "app.kubernetes.io/version",
  managedBy: "app.kubernetes.io/managed-by",
  partOf: "app.kubernetes.io/part-of",
  component: "app.kubernetes.io/component",
} as const;

export const ANNOTATIONS = {
  /** The image a migration Job migrates to; the Deployment rolls to it only once that Job succeeded. */
  migrationImage: "canopy.dev/migration-image",
} as const;

export const API_PORT = 8080;
