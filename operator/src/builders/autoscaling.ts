import { type CanopyCluster, resolveSpec } from "../types.ts";
import { names, objectMeta, selectorLabels } from "./meta.ts";

/** autoscaling/v2 on average CPU utilization (70% by default), with a slow, stabilized scale-down. */
export function buildHorizontalPodAutoscaler(c: CanopyCluster) {
  const r = resolveSpec(c.spec);
  const a = r.autoscaling;
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: objectMeta(c, r, names(c).app),
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: names(c).app },
      minReplicas: a.minReplicas,
      maxReplicas: a.maxReplicas,
      metrics: [
        {
          type: "Resource",
          resource: {
            name: "cpu",
            target: { type: "Utilization", averageUtilization: a.targetCPUUtilizationPercentage },
          },
        },
      ],
      behavior: {
        scaleDown: {
          stabilizationWindowSeconds: a.scaleDownStabilizationSeconds,
          policies: [{ type: "Pods", value: 1, periodSeconds: 60 }],
          selectPolicy: "Max",
        },
        scaleUp: {
          stabilizationWindowSeconds: 0,
          policies: [{ type: "Percent", value: 100, periodSeconds: 30 }],
          selectPolicy: "Max",
        },
      },
    },
  };
}

export function buildPodDisruptionBudget(c: CanopyCluster) {
  const r = resolveSpec(c.spec);
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: objectMeta(c, r, names(c).app),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(c) } },
  };
}
