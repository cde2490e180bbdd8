/**
 * What cached entries depend on, and what each change touches. An entry stays servable while
 * none of its dependencies changed after the revision it was read at: invalidation is exact
 * and costs one map write per touched key, never a scan of the cache.
 */
export type Change = {
  revision: bigint;
  kind: string;
  userIds: readonly string[];
  structureIds: readonly string[];
  paths: readonly string[];
};

export const deps = {
  /** A structure's own row: its place in the tree (moves), name, existence. */
  structure: (id: string) => `s:${id}`,
  /** A user's row and grants. */
  user: (id: string) => `u:${id}`,
  /** Anything inside the subtree of a structure: structures and users below it. */
  subtree: (id: string) => `t:${id}`,
  /** Grants held on a structure. */
  grantsOn: (id: string) => `g:${id}`,
};

export const idsOfPath = (path: string) => path.split("/").filter(Boolean);

/** The dependency keys a change invalidates. */
export function touchedBy(change: Omit<Change, "revision">): string[] {
  const keys = new Set<string>();
  for (const id of change.userIds) keys.add(deps.user(id));
  if (change.kind.startsWith("structure."))
    for (const id of change.structureIds) keys.add(deps.structure(id));
  if (change.kind.startsWith("grant.")) for (const id of change.structureIds) keys.add(deps.grantsOn(id));
  for (const path of change.paths) for (const id of idsOfPath(path)) keys.add(deps.subtree(id));
  return [...keys];
}

/** A structure's ancestor chain changes when it or any ancestor moves, or when it is deleted. */
export const chainDependencies = (structureId: string, path: string | null) =>
  path === null ? [deps.structure(structureId)] : idsOfPath(path).map(deps.structure);
