import type { Obj } from "./fields.ts";
import type { FakeApiServer } from "./server.ts";
import type { Stored, WatchEvent } from "./store.ts";

export type Simulation = {
  /** How a migration Job ends: by default it succeeds. */
  job?: (job: Stored) => "succeed" | "fail" | "pending";
};

/**
 * Plays the controllers a real cluster runs: the Deployment controller (every replica rolled
 * out and available), the Job controller (per `job`), CloudNativePG (every instance ready).
 * Writes go through the status subresource under their own field managers.
 */
export function simulateControllers(api: FakeApiServer, sim: Simulation = {}) {
  const { store } = api;
  const react = (e: WatchEvent) => {
    if (e.type === "DELETED") return;
    const o = e.object;
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
