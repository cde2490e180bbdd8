/**
 * Materialized paths: the ids from the root down to a structure, each followed by '/',
 * e.g. `/1/7/42/`. Pure helpers; the database applies the same rules in SQL.
 */
export const childPath = (parentPath: string | null, id: string) => `${parentPath ?? "/"}${id}/`;

/** Whether `path` is `root` itself or lies below it. */
export const isWithin = (path: string, root: string) => path.startsWith(root);

/** Moving under `newParentPath` would put the structure under itself or one of its descendants. */
export const wouldCycle = (structurePath: string, newParentPath: string | null) =>
  newParentPath !== null && isWithin(newParentPath, structurePath);
