import { API_VERSION, KIND } from "../constants.ts";
import type { CanopyCluster } from "../types.ts";
import { shortHash } from "./meta.ts";

/**
 * A Kubernetes Event on the CanopyCluster (`kubectl describe` shows it). Its name is derived from
 * what it says, so repeating the same news in every reconcile creates it once.
 */
export function buildEvent(
  c: CanopyCluster,
  type: "Normal" | "Warning",
  reason: string,
  message: string,
  now: Date,
) {
  const time = now.toISOString();
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: {
      name: `${c.metadata.name}.${shortHash(`${c.metadata.uid}/${c.metadata.generation}/${reason}/${message}`)}`,
      namespace: c.metadata.namespace,
    },
    involvedObject: {
      apiVersion: API_VERSION,
      kind: KIND,
      name: c.metadata.name,
      namespace: c.metadata.namespace,
      uid: c.metadata.uid,
    },
    type,
    reason,
    message,
    source: { component: "canopy-operator" },
    reportingComponent: "canopy-operator",
    firstTimestamp: time,
    lastTimestamp: time,
    count: 1,
  };
}
