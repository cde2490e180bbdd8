import { ANNOTATIONS, LABELS } from "../constants.ts";
import { type CanopyCluster, resolveSpec } from "../types.ts";
import { databaseEnv } from "./env.ts";
import { names, objectMeta, selectorLabels } from "./meta.ts";
import { containerSecurityContext, podSecurityContext, tmpMount, tmpVolume } from "./pod.ts";

/** `canopy migrate` for one image; the Job's name carries a hash of the image, so each version migrates once. */
export function buildMigrationJob(c: CanopyCluster) {
  const r = resolveSpec(c.spec);
  const component = { [LABELS.component]: "migration" };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      ...objectMeta(c, r, names(c).migration(r.image), component),
      annotations: { [ANNOTATIONS.migrationImage]: r.image },
    },
    spec: {
      backoffLimit: 6,
      activeDeadlineSeconds: 600,
      // A finished Job goes after an hour; the Deployment's image then says the version is migrated.
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels: { ...selectorLabels(c), ...component } },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          securityContext: podSecurityContext(),
          containers: [
            {
              name: "migrate",
              image: r.image,
              imagePullPolicy: r.imagePullPolicy,
              command: ["node", "--import", "tsx", "src/cli.ts"],
              args: ["migrate"],
              env: [{ name: "NODE_ENV", value: "production" }, ...databaseEnv(c, r, true)],
              resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
              securityContext: containerSecurityContext(),
              volumeMounts: [tmpMount()],
            },
          ],
          volumes: [tmpVolume()],
        },
      },
    },
  };
}
