import { sql } from "drizzle-orm";
import type { Action } from "../../domain/roles.ts";
import { roleFor } from "../../domain/roles.ts";
import type { Executor } from "../database.ts";
import {
  chainOf,
  D,
  d,
  envelope,
  P,
  p,
  S,
  s,
  structureColumns,
  subtreePage,
  U,
  u,
  userColumns,
} from "../fragments.ts";
import { afterKey, fetchLimit, type PageRequest, type ReadRequest, readOne, readPage } from "./page.ts";

export type Structure = {
  id: string;
  name: string;
  parentId: string | null;
  externalId: string | null;
  depth: number;
  createdAt: string;
  updatedAt: string;
};

const exists = (id: string | null) => sql`EXISTS (SELECT 1 FROM ${S} WHERE ${s.id} = ${id})`;

export function getStructure(db: Executor, id: string | null, read: ReadRequest) {
  return readOne<Structure>(
    db,
    "structures.get",
    envelope(
      sql`true`,
      sql`SELECT ${structureColumns(s)}, ${s.id} AS "__key" FROM ${S} WHERE ${s.id} = ${id}`,
    ),
    read,
  );
}

/** `parent`: undefined for every structure, null for roots, an id (or null-for-unknown) for children. */
export function listStructures(
  db: Executor,
  parent: { filter: "all" | "roots" | "children"; id?: string | null },
  page: PageRequest,
) {
  const where = {
    all: sql`true`,
    roots: sql`${s.parentId} IS NULL`,
    children: sql`${s.parentId} = ${parent.id ?? null}`,
  }[parent.filter];
  return readPage<Structure>(
    db,
    `structures.list.${parent.filter}`,
    envelope(
      sql`true`,
      sql`SELECT ${structureColumns(s)}, ${s.id} AS "__key" FROM ${S}
          WHERE ${where} AND ${s.id} > ${afterKey(page)} ORDER BY ${s.id} LIMIT ${fetchLimit(page)}`,
    ),
    page,
  );
}

export function listAncestors(db: Executor, id: string | null, read: ReadRequest) {
  return readPage<Structure>(
    db,
    "structures.ancestors",
    envelope(
      exists(id),
      sql`SELECT ${structureColumns(d)}, ${d.depth} AS "__key"
          FROM ${S} JOIN ${D} ON ${d.id} = ANY(${chainOf(s.path)}) AND ${d.id} <> ${s.id}
          WHERE ${s.id} = ${id}`,
    ),
    { limit: Number.MAX_SAFE_INTEGER, minRevision: read.minRevision },
  );
}

/** Descendants down to `maxDepth` levels below (all levels when absent), by the path prefix. */
export function listDescendants(
  db: Executor,
  id: string | null,
  maxDepth: number | undefined,
  page: PageRequest,
) {
  return readPage<Structure>(
    db,
    "structures.descendants",
    envelope(
      exists(id),
      subtreePage(
        "structures",
        sql`SELECT ${s.path} AS path FROM ${S} WHERE ${s.id} = ${id}`,
        sql`${d.id} <> ${id}::bigint
            AND ${d.depth} - (SELECT ${s.depth} FROM ${S} WHERE ${s.id} = ${id}) <= ${maxDepth ?? 2_147_483_647}::int`,
        { after: afterKey(page), limit: page.limit },
      ),
    ),
    page,
  );
}

export type User = {
  id: string;
  email: string;
  name: string;
  structureId: string;
  externalId: string | null;
  createdAt: string;
  updatedAt: string;
};

/** Users of the structure itself, or of its whole subtree when recursive. */
export function listMembers(db: Executor, id: string | null, recursive: boolean, page: PageRequest) {
  const rows = recursive
    ? subtreePage("members", sql`SELECT ${s.path} AS path FROM ${S} WHERE ${s.id} = ${id}`, sql`true`, {
        after: afterKey(page),
        limit: page.limit,
      })
    : sql`SELECT ${userColumns(u)}, ${u.id} AS "__key" FROM ${U}
          WHERE ${u.structureId} = ${id} AND ${u.id} > ${afterKey(page)}
          ORDER BY ${u.id} LIMIT ${fetchLimit(page)}`;
  return readPage<User>(
    db,
    recursive ? "structures.members.recursive" : "structures.members",
    envelope(exists(id), rows),
    page,
  );
}

export type Principal = { user: User; role: string; grantedAt: string };
type PrincipalRow = User & { role: string; grantedAt: string };

/**
 * Users whose effective role on the structure meets the action: for each user with a grant
 * on the ancestor chain, the highest role, the nearest grant breaking ties.
 */
export async function listPrincipals(db: Executor, id: string | null, action: Action, page: PageRequest) {
  const answer = await readPage<PrincipalRow>(
    db,
    "structures.principals",
    envelope(
      exists(id),
      sql`SELECT ${userColumns(u)}, ${u.id} AS "__key", e.role AS "role", e.granted_at AS "grantedAt"
          FROM (
            SELECT DISTINCT ON (${p.userId}) ${p.userId} AS user_id, ${p.role} AS role,
                   ${p.structureId}::text AS granted_at
            FROM (SELECT ${chainOf(s.path)} AS chain FROM ${S} WHERE ${s.id} = ${id}) c
            JOIN ${P} ON ${p.structureId} = ANY(c.chain)
            WHERE ${p.userId} > ${afterKey(page)}
            ORDER BY ${p.userId}, ${p.role} DESC, array_position(c.chain, ${p.structureId}) DESC
          ) e JOIN ${U} ON ${u.id} = e.user_id
          WHERE e.role >= ${roleFor(action)}::role
          ORDER BY e.user_id LIMIT ${fetchLimit(page)}`,
      // The structure's place in the tree and the grants on its chain; the listed users come below.
      sql`ARRAY['s:' || ${id}::text] || ARRAY(
            SELECT k || x FROM ${S}, unnest(${chainOf(s.path)}) x, unnest(ARRAY['s:', 'g:']) k
            WHERE ${s.id} = ${id})`,
    ),
    page,
  );
  const items: Principal[] = answer.items.map(({ role, grantedAt, ...user }) => ({ user, role, grantedAt }));
  const dependencies = answer.dependencies && [...answer.dependencies, ...items.map((x) => `u:${x.user.id}`)];
  return { ...answer, items, dependencies };
}
