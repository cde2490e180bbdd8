import { API_PORT } from "../constants.ts";

/** Pod and container settings shared by the API Deployment and the migration Job (and the chart). */
export const podSecurityContext = () => ({
  runAsNonRoot: true,
  runAsUser: 1000,
  runAsGroup: 1000,
  fsGroup: 1000,
  seccompProfile: { type: "RuntimeDefault" },
});

export const containerSecurityContext = () => ({
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
});

export const apiPort = () => ({ name: "http", containerPort: API_PORT, protocol: "TCP" });

export const probes = () => ({
  startupProbe: {
    httpGet: { path: "/healthz", port: "http" },
    periodSeconds: 2,
    timeoutSeconds: 2,
    failureThreshold: 30,
  },
  livenessProbe: {
    httpGet: { path: "/healthz", port: "http" },
    periodSeconds: 10,
    timeoutSeconds: 2,
    failureThreshold: 3,
  },
  readinessProbe: {
    httpGet: { path: "/readyz", port: "http" },
    periodSeconds: 5,
    timeoutSeconds: 2,
    failureThreshold: 2,
  },
});

/** The root filesystem is read-only; tsx's compile cache and Node's temp files go to /tmp. */
export const tmpVolume = () => ({ name: "tmp", emptyDir: { sizeLimit: "64Mi" } });
export const tmpMount = () => ({ name: "tmp", mountPath: "/tmp" });
