import { sql } from "drizzle-orm";
import { type Action, roleFor } from "../../domain/roles.ts";
import type { Executor } from "../database.ts";
import { envelope, inSubtree, P, p, S, s, subtreePage, U, u, userColumns } from "../fragments.ts";
import { afterKey, fetchLimit, type PageRequest, type ReadRequest, readOne, readPage } from "./page.ts";
import type { Structure, User } from "./structures.ts";

const exists = (id: string | null) => sql`EXISTS (SELECT 1 FROM ${U} WHERE ${u.id} = ${id})`;

export function getUser(db: Executor, id: string | null, read: ReadRequest) {
  return readOne<User>(
    db,
    "users.get",
    envelope(sql`true`, sql`SELECT ${userColumns(u)}, ${u.id} AS "__key" FROM ${U} WHERE ${u.id} = ${id}`),
    read,
  );
}

export function listUsers(db: Executor, structureId: string | null | undefined, page: PageRequest) {
  const where = structureId === undefined ? sql`true` : sql`${u.structureId} = ${structureId}`;
  return readPage<User>(
    db,
    structureId === undefined ? "users.list" : "users.list.by_structure",
    envelope(
      sql`true`,
      sql`SELECT ${userColumns(u)}, ${u.id} AS "__key" FROM ${U}
          WHERE ${where} AND ${u.id} > ${afterKey(page)} ORDER BY ${u.id} LIMIT ${fetchLimit(page)}`,
    ),
    page,
  );
}

/**
 * The roots of the subtrees on which the user's effective role meets the action: the paths of
 * their grants with a high enough role, less those lying inside another such grant's subtree,
 * so the subtrees are disjoint and every structure or member below them is found once.
 */
const grantedSubtrees = (userId: string | null, action: Action) => sql`
  WITH g AS (
    SELECT ${s.path} AS path FROM ${P} JOIN ${S} ON ${s.id} = ${p.structureId}
    WHERE ${p.userId} = ${userId} AND ${p.role} >= ${roleFor(action)}::role
  )
  SELECT g.path FROM g
  WHERE NOT EXISTS (SELECT 1 FROM g o WHERE o.path <> g.path AND ${inSubtree(sql`g.path`, sql`o.path`)})`;

/**
 * What a page about the user's reach depends on: the user's grants, and the contents of the
 * subtree of every grant high enough to count (cache keys of src/cache/dependencies.ts).
 */
const reachDependencies = (userId: string | null, action: Action) =>
  sql`ARRAY['u:' || ${userId}::text] || ARRAY(
        SELECT 't:' || ${p.structureId}::text FROM ${P}
        WHERE ${p.userId} = ${userId} AND ${p.role} >= ${roleFor(action)}::role)`;

/** Structures on which the user's effective role meets the action. */
export function listUserStructures(db: Executor, id: string | null, action: Action, page: PageRequest) {
  return readPage<Structure>(
    db,
    "users.structures",
    envelope(
      exists(id),
      subtreePage("structures", grantedSubtrees(id, action), sql`true`, {
        after: afterKey(page),
        limit: page.limit,
      }),
      reachDependencies(id, action),
    ),
    page,
  );
}

/** Users whose own structure the given user may act on: one join of grants, structures and users. */
export function listVisibleUsers(db: Executor, id: string | null, action: Action, page: PageRequest) {
  return readPage<User>(
    db,
    "users.visible_users",
    envelope(
      exists(id),
      subtreePage("members", grantedSubtrees(id, action), sql`true`, {
        after: afterKey(page),
        limit: page.limit,
      }),
      reachDependencies(id, action),
    ),
    page,
  );
}
