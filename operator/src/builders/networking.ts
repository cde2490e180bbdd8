import { type CanopyCluster, resolveSpec } from "../types.ts";
import { names, objectMeta, selectorLabels } from "./meta.ts";

export function buildService(c: CanopyCluster) {
  const r = resolveSpec(c.spec);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: objectMeta(c, r, names(c).app),
    spec: {
      type: "ClusterIP",
      selector: selectorLabels(c),
      ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
    },
  };
}

export function buildServiceAccount(c: CanopyCluster) {
  const r = resolveSpec(c.spec);
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: objectMeta(c, r, names(c).app),
    automountServiceAccountToken: false,
  };
}

/** Only the API port is reachable (ingress controller, Prometheus, clients in the cluster). */
export function buildNetworkPolicy(c: CanopyCluster) {
  const r = resolveSpec(c.spec);
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: objectMeta(c, r, names(c).app),
    spec: {
      podSelector: { matchLabels: selectorLabels(c) },
      policyTypes: ["Ingress"],
      ingress: [{ ports: [{ port: "http", protocol: "TCP" }] }],
    },
  };
}

/** undefined when the spec asks for no Ingress. */
export function buildIngress(c: CanopyCluster) {
  const r = resolveSpec(c.spec);
  const i = r.ingress;
  if (!i.enabled) return undefined;
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: objectMeta(c, r, names(c).app),
    spec: {
      ...(i.className ? { ingressClassName: i.className } : {}),
      ...(i.tlsSecretName ? { tls: [{ hosts: [i.host], secretName: i.tlsSecretName }] } : {}),
      rules: [
        {
          host: i.host,
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: names(c).app, port: { name: "http" } } },
              },
            ],
          },
        },
      ],
    },
  };
}
