/**
 * A reference model of the contract's permission semantics (/work/shared/api-contract.md,
 * "Model"): structures, users and grants in plain maps, and every answer computed by walking
 * the tree with plain loops. It is the specification the property tests compare the API with,
 * so it favours being obviously right over being fast. Ids are the server's, kept opaque.
 */

export const roles = ["viewer", "editor", "admin"] as const;
export type Role = (typeof roles)[number];
export const actions = ["read", "write", "manage"] as const;
export type Action = (typeof actions)[number];

/** The least role each action needs. */
export const leastRole: Record<Action, Role> = { read: "viewer", write: "editor", manage: "admin" };

export type ModelStructure = { id: string; parentId: string | null };
export type ModelUser = { id: string; structureId: string };
export type ModelGrant = { id: string; userId: string; structureId: string; role: Role };

export type Effective = { role: Role | null; grantedAt: string | null };
export type Decision = Effective & { allowed: boolean };
export type ModelPrincipal = { userId: string; role: Role; grantedAt: string };

/** Why a mutation is refused; the API answers these with 409. */
export type Refusal = "cycle" | "duplicate" | "in_use";

const rank = (role: Role) => roles.indexOf(role);

/** Whether an effective role (or none) allows the action. */
export function meets(role: Role | null, action: Action): boolean {
  return role !== null && rank(role) >= rank(leastRole[action]);
}

/** Orders server ids numerically (canonical decimals: shorter is smaller, then by digits). */
export function compareIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

export class Model {
  readonly structures = new Map<string, ModelStructure>();
  readonly users = new Map<string, ModelUser>();
  readonly grants = new Map<string, ModelGrant>();

  // ---- reading the tree ----

  private structure(id: string): ModelStructure {
    const found = this.structures.get(id);
    if (!found) throw new Error(`model: no structure ${id}`);
    return found;
  }

  private user(id: string): ModelUser {
    const found = this.users.get(id);
    if (!found) throw new Error(`model: no user ${id}`);
    return found;
  }

  /** The structure and its ancestors, nearest first (itself, parent, ..., root). */
  chain(id: string): string[] {
    const out: string[] = [];
    let current: string | null = id;
    while (current !== null) {
      if (out.includes(current)) throw new Error(`model: cycle through ${current}`);
      out.push(current);
      current = this.structure(current).parentId;
    }
    return out;
  }

  /** Ancestors, root first, itself excluded. */
  ancestors(id: string): string[] {
    return this.chain(id).slice(1).reverse();
  }

  /** Number of ancestors: 0 for a root. */
  depth(id: string): number {
    return this.chain(id).length - 1;
  }

  /** Descendants down to `maxDepth` levels below (all when absent), itself excluded, by id. */
  descendants(id: string, maxDepth?: number): string[] {
    const out: string[] = [];
    for (const s of this.structures.values()) {
      const above = this.chain(s.id).indexOf(id); // levels from s up to id, -1 when not below
      if (above > 0 && (maxDepth === undefined || above <= maxDepth)) out.push(s.id);
    }
    return out.sort(compareIds);
  }

  children(id: string): string[] {
    const out: string[] = [];
    for (const s of this.structures.values()) if (s.parentId === id) out.push(s.id);
    return out.sort(compareIds);
  }

  /** Users of the structure, or of its whole subtree (itself included) when recursive, by id. */
  members(id: string, recursive: boolean): string[] {
    const out: string[] = [];
    for (const u of this.users.values()) {
      const belongs = recursive ? this.chain(u.structureId).includes(id) : u.structureId === id;
      if (belongs) out.push(u.id);
    }
    return out.sort(compareIds);
  }

  grantOf(userId: string, structureId: string): ModelGrant | undefined {
    for (const g of this.grants.values()) if (g.userId === userId && g.structureId === structureId) return g;
    return undefined;
  }

  // ---- permissions ----

  /**
   * The highest role among the user's grants on the structure or an ancestor; grantedAt is
   * the nearest structure holding a grant with that role.
   */
  effectiveRole(userId: string, structureId: string): Effective {
    this.user(userId);
    let best: Effective = { role: null, grantedAt: null };
    // Nearest first, and only a strictly higher role replaces the best: the nearest wins ties.
    for (const at of this.chain(structureId)) {
      const grant = this.grantOf(userId, at);
      if (grant && (best.role === null || rank(grant.role) > rank(best.role))) {
        best = { role: grant.role, grantedAt: at };
      }
    }
    return best;
  }

  check(userId: string, structureId: string, action: Action): Decision {
    const { role, grantedAt } = this.effectiveRole(userId, structureId);
    return { allowed: meets(role, action), role, grantedAt };
  }

  /** Every user whose own structure the user may do the action on (maybe the user too), by id. */
  visibleUsers(userId: string, action: Action): string[] {
    const out: string[] = [];
    for (const v of this.users.values())
      if (this.check(userId, v.structureId, action).allowed) out.push(v.id);
    return out.sort(compareIds);
  }

  /** Every structure on which the user's effective role meets the action, by id. */
  userStructures(userId: string, action: Action): string[] {
    const out: string[] = [];
    for (const s of this.structures.values()) if (this.check(userId, s.id, action).allowed) out.push(s.id);
    return out.sort(compareIds);
  }

  /** Every user whose effective role on the structure meets the action, by user id. */
  principals(structureId: string, action: Action): ModelPrincipal[] {
    const out: ModelPrincipal[] = [];
    for (const u of [...this.users.keys()].sort(compareIds)) {
      const { role, grantedAt } = this.effectiveRole(u, structureId);
      if (role !== null && grantedAt !== null && meets(role, action))
        out.push({ userId: u, role, grantedAt });
    }
    return out;
  }

  // ---- mutations: each either applies fully or refuses and changes nothing ----

  addStructure(id: string, parentId: string | null): void {
    if (this.structures.has(id)) throw new Error(`model: structure ${id} exists`);
    if (parentId !== null) this.structure(parentId);
    this.structures.set(id, { id, parentId });
  }

  /** Moves the structure (and so its subtree) under another parent, or makes it a root. */
  moveStructure(id: string, parentId: string | null): Refusal | undefined {
    const s = this.structure(id);
    if (parentId !== null && this.chain(parentId).includes(id)) return "cycle";
    s.parentId = parentId;
    return undefined;
  }

  /** Deletes a structure, unless it still has children, members or grants. */
  deleteStructure(id: string): Refusal | undefined {
    this.structure(id);
    if (this.children(id).length > 0 || this.members(id, false).length > 0) return "in_use";
    for (const g of this.grants.values()) if (g.structureId === id) return "in_use";
    this.structures.delete(id);
    return undefined;
  }

  addUser(id: string, structureId: string): void {
    if (this.users.has(id)) throw new Error(`model: user ${id} exists`);
    this.structure(structureId);
    this.users.set(id, { id, structureId });
  }

  moveUser(id: string, structureId: string): void {
    this.structure(structureId);
    this.user(id).structureId = structureId;
  }

  /** Deletes the user and their grants. */
  deleteUser(id: string): void {
    this.user(id);
    this.users.delete(id);
    for (const g of [...this.grants.values()]) if (g.userId === id) this.grants.delete(g.id);
  }

  /** Whether a grant would be a duplicate: at most one per (user, structure). */
  grantRefusal(userId: string, structureId: string): Refusal | undefined {
    return this.grantOf(userId, structureId) ? "duplicate" : undefined;
  }

  addGrant(grant: ModelGrant): void {
    this.user(grant.userId);
    this.structure(grant.structureId);
    if (this.grantRefusal(grant.userId, grant.structureId)) throw new Error("model: duplicate grant");
    if (this.grants.has(grant.id)) throw new Error(`model: grant ${grant.id} exists`);
    this.grants.set(grant.id, { ...grant });
  }

  changeRole(grantId: string, role: Role): void {
    const grant = this.grants.get(grantId);
    if (!grant) throw new Error(`model: no grant ${grantId}`);
    grant.role = role;
  }

  revoke(grantId: string): void {
    if (!this.grants.delete(grantId)) throw new Error(`model: no grant ${grantId}`);
  }
}
