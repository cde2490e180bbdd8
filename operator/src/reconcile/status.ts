import type { CanopyClusterStatus, Condition } from "../types.ts";

export type ConditionState = { status: Condition["status"]; reason: string; message: string };

/**
 * Sets the three conditions, keeping lastTransitionTime when a condition's status did not change
 * (so `kubectl get` shows how long it has been Ready, not how long since the last reconcile).
 */
export function conditions(
  previous: Condition[] | undefined,
  next: Record<Condition["type"], ConditionState>,
  generation: number,
  now: string,
): Condition[] {
  return (["Ready", "Progressing", "Degraded"] as const).map((type) => {
    const before = previous?.find((c) => c.type === type);
    const state = next[type];
    return {
      type,
      ...state,
      observedGeneration: generation,
      lastTransitionTime: before && before.status === state.status ? before.lastTransitionTime : now,
    };
  });
}

export type StatusInput = Omit<CanopyClusterStatus, "conditions" | "observedGeneration">;
