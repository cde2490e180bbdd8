export const roles = ["viewer", "editor", "admin"] as const;
export type Role = (typeof roles)[number];

export const actions = ["read", "write", "manage"] as const;
export type Action = (typeof actions)[number];

const leastRole: Record<Action, Role> = { read: "viewer", write: "editor", manage: "admin" };

/** The least role an action needs. */
export function roleFor(action: Action): Role {
  return leastRole[action];
}

/** Whether an effective role (or none) allows the action. */
export function allows(role: Role | null, action: Action): boolean {
  return role !== null && roles.indexOf(role) >= roles.indexOf(leastRole[action]);
}
