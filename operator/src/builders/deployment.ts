import { LABELS } from "../constants.ts";
import { type CanopyCluster, resolveSpec } from "../types.ts";
import { apiEnv } from "./env.ts";
import { names, objectMeta, selectorLabels } from "./meta.ts";
import { apiPort, containerSecurityContext, podSecurityContext, probes, tmpMount, tmpVolume } from "./pod.ts";

/**
 * The API Deployment. While the HPA owns the replica count the object has no `replicas` field
 * at all, so server-side apply never takes the count back from the autoscaler.
 */
export function buildDeployment(c: CanopyCluster, image = resolveSpec(c.spec).image) {
  const r = resolveSpec(c.spec);
  const selector = selectorLabels(c);
  const { preStopSleepSeconds, drainTimeoutSeconds } = r.shutdown;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: objectMeta(c, r, names(c).app),
    spec: {
      ...(r.autoscaling.enabled ? {} : { replicas: r.autoscaling.replicas }),
      revisionHistoryLimit: 5,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...selector, [LABELS.version]: r.version } },
        spec: {
          serviceAccountName: names(c).app,
          automountServiceAccountToken: false,
          securityContext: podSecurityContext(),
          terminationGracePeriodSeconds: preStopSleepSeconds + drainTimeoutSeconds + 5,
          containers: [
            {
              name: "api",
              image,
              imagePullPolicy: r.imagePullPolicy,
              ports: [apiPort()],
              env: apiEnv(c, r),
              ...probes(),
              lifecycle: { preStop: { sleep: { seconds: preStopSleepSeconds } } },
              resources: r.resources,
              securityContext: containerSecurityContext(),
              volumeMounts: [tmpMount()],
            },
          ],
          volumes: [tmpVolume()],
          topologySpreadConstraints: ["topology.kubernetes.io/zone", "kubernetes.io/hostname"].map(
            (topologyKey) => ({
              topologyKey,
              maxSkew: 1,
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: selector },
              matchLabelKeys: ["pod-template-hash"],
            }),
          ),
        },
      },
    },
  };
}
