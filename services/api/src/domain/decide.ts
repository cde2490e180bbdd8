import { type Action, allows, type Role, roles } from "./roles.ts";

/** A user's grants, by structure id. */
export type Grants = ReadonlyMap<string, Role>;

export type Decision = { role: Role | null; grantedAt: string | null };

/**
 * The effective role over an ancestor chain (root first, the structure last): the highest
 * role granted on any of them, the nearest such grant breaking ties.
 */
export function effectiveRole(chain: readonly string[], grants: Grants): Decision {
  let best: Decision = { role: null, grantedAt: null };
  for (const id of chain) {
    const role = grants.get(id);
    if (role !== undefined && (best.role === null || roles.indexOf(role) >= roles.indexOf(best.role))) {
      best = { role, grantedAt: id };
    }
  }
  return best;
}

export const decision = (chain: readonly string[], grants: Grants, action: Action) => {
  const { role, grantedAt } = effectiveRole(chain, grants);
  return { allowed: allows(role, action), role, grantedAt };
};
