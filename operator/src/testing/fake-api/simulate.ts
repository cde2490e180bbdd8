import type { Obj } from "./fields.ts";
import type { FakeApiServer } from "./server.ts";
import type { Stored, WatchEvent } from "./store.ts";

export type Simulation = {
  /** How a migration Job ends: by default it succeeds. */
  job?: (job: Stored) => "succeed" | "fail" | "pending";
};

/**
 * Plays the controllers a real cluster runs: the Deployment controller (every replica rolled
 * out and available), the Job controller (per `job`), the HorizontalPodAutoscaler controller
 * (its target's replicas kept within its bounds: at the minimum, as with no load), CloudNativePG
 * (every instance ready).
 * Writes go through the status subresource under their own field managers.
 */
export function simulateControllers(api: FakeApiServer, sim: Simulation = {}) {
  const { store } = api;
  const deployments = api.resource("apps/v1", "Deployment");
  const autoscalers = api.resource("autoscaling/v2", "HorizontalPodAutoscaler");
  /** What the HPA controller does to a Deployment that one of its autoscalers targets. */
  const autoscale = (ns: string | undefined, name: string) => {
    const hpa = store
      .list(autoscalers, ns)
      .find((h) => ((h.spec as Obj).scaleTargetRef as Obj | undefined)?.name === name);
    const d = store.get(deployments, ns, name);
    if (!hpa || !d) return;
    const { minReplicas = 1, maxReplicas } = hpa.spec as { minReplicas?: number; maxReplicas: number };
    const replicas = (d.spec as Obj).replicas as number | undefined;
    const wanted = Math.min(Math.max(replicas ?? 0, minReplicas), maxReplicas);
    if (replicas === wanted) return;
    setImmediate(() => {
      const current = store.get(deployments, ns, name);
      if (!current) return;
      const body = { ...current, spec: { ...(current.spec as Obj), replicas: wanted } };
      store.replace(deployments, ns, name, body, "kube-controller-manager");
    });
  };
  const react = (e: WatchEvent) => {
    if (e.type === "DELETED") return;
    const o = e.object;
    if (o.kind === "HorizontalPodAutoscaler") {
      const target = ((o.spec as Obj).scaleTargetRef as Obj | undefined)?.name;
      if (typeof target === "string") autoscale(o.metadata.namespace, target);
    }
    if (o.kind === "Deployment") autoscale(o.metadata.namespace, o.metadata.name);
    const spec = (o.spec ?? {}) as Obj;
    const status = (o.status ?? {}) as Obj;
    const ns = o.metadata.namespace;
    let next: Obj | undefined;
    if (o.kind === "Deployment") {
      const n = (spec.replicas as number | undefined) ?? 1;
      const want = {
        observedGeneration: o.metadata.generation,
        replicas: n,
        updatedReplicas: n,
        readyReplicas: n,
        availableReplicas: n,
      };
      if (JSON.stringify({ ...status, ...want }) !== JSON.stringify(status)) next = { ...status, ...want };
    } else if (o.kind === "Job" && !status.conditions) {
      const outcome = sim.job?.(o) ?? "succeed";
      if (outcome === "succeed") next = { succeeded: 1, conditions: [{ type: "Complete", status: "True" }] };
      if (outcome === "fail") {
        next = {
          failed: 1,
          conditions: [
            {
              type: "Failed",
              status: "True",
              reason: "BackoffLimitExceeded",
              message: "Job has reached the specified backoff limit",
            },
          ],
        };
      }
    } else if (o.kind === "Cluster" && o.apiVersion === "postgresql.cnpg.io/v1") {
      const n = spec.instances as number;
      if (status.readyInstances !== n)
        next = { instances: n, readyInstances: n, phase: "Cluster in healthy state" };
    }
    if (next) {
      const manager = o.kind === "Cluster" ? "cloudnative-pg" : "kube-controller-manager";
      // After the write that triggered it, as a controller would.
      setImmediate(() => {
        try {
          store.replace(e.resource, ns, o.metadata.name, { status: next }, manager, "status");
        } catch {
          // deleted meanwhile
        }
      });
    }
  };
  store.events.on("event", react);
  return () => store.events.off("event", react);
}
