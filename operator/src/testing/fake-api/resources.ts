/** The kinds the fake API server serves, with what discovery says about them. */
export type Resource = {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  status: boolean;
};

const r = (apiVersion: string, kind: string, plural: string, status = false, namespaced = true): Resource => {
  const [group, version] = apiVersion.includes("/")
    ? (apiVersion.split("/") as [string, string])
    : ["", apiVersion];
  return { group, version, kind, plural, namespaced, status };
};

export const builtIn: Resource[] = [
  r("v1", "Service", "services", true),
  r("v1", "ServiceAccount", "serviceaccounts"),
  r("v1", "Secret", "secrets"),
  r("v1", "ConfigMap", "configmaps"),
  r("v1", "Event", "events"),
  r("v1", "Namespace", "namespaces", true, false),
  r("apps/v1", "Deployment", "deployments", true),
  r("batch/v1", "Job", "jobs", true),
  r("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true),
  r("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", true),
  r("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
  r("networking.k8s.io/v1", "Ingress", "ingresses", true),
  r("coordination.k8s.io/v1", "Lease", "leases"),
  r("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", true, false),
];

export const canopy = [r("canopy.dev/v1alpha1", "CanopyCluster", "canopyclusters", true)];
export const cloudNativePg = [
  r("postgresql.cnpg.io/v1", "Cluster", "clusters", true),
  r("postgresql.cnpg.io/v1", "Pooler", "poolers", true),
];
export const redisOperator = [r("redis.redis.opstreelabs.in/v1beta2", "RedisCluster", "redisclusters", true)];
export const prometheusOperator = [
  r("monitoring.coreos.com/v1", "ServiceMonitor", "servicemonitors"),
  r("monitoring.coreos.com/v1", "PrometheusRule", "prometheusrules"),
  r("monitoring.coreos.com/v1", "PodMonitor", "podmonitors"),
];

export const apiVersionOf = (res: Resource) => (res.group ? `${res.group}/${res.version}` : res.version);
