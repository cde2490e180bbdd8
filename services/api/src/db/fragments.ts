import { type SQL, sql } from "drizzle-orm";
import { type AnyPgColumn, alias } from "drizzle-orm/pg-core";
import { badRequest } from "../domain/errors.ts";
import { permissions, revisionCounter, structures, users } from "./schema/index.ts";

/** Aliases the hot queries join under; one place so every query spells them alike. */
export const s = alias(structures, "s");
export const d = alias(structures, "d");
export const u = alias(users, "u");
export const p = alias(permissions, "p");
/** The tables under those aliases, for FROM, JOIN, INSERT INTO, UPDATE and DELETE FROM. */
export const S = sql`${structures} AS ${s}`;
export const D = sql`${structures} AS ${d}`;
export const U = sql`${users} AS ${u}`;
export const P = sql`${permissions} AS ${p}`;

/** RFC 3339 in UTC, formatted by Postgres so both drivers answer the same text. */
const iso = (column: AnyPgColumn) =>
  sql`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export const structureColumns = (t: typeof s | typeof d) =>
  sql`${t.id}::text AS "id", ${t.name} AS "name", ${t.parentId}::text AS "parentId",
      ${t.externalId} AS "externalId", ${t.depth} AS "depth",
      ${iso(t.createdAt)} AS "createdAt", ${iso(t.updatedAt)} AS "updatedAt"`;

export const userColumns = (t: typeof u) =>
  sql`${t.id}::text AS "id", ${t.email} AS "email", ${t.name} AS "name",
      ${t.structureId}::text AS "structureId", ${t.externalId} AS "externalId",
      ${iso(t.createdAt)} AS "createdAt", ${iso(t.updatedAt)} AS "updatedAt"`;

export const grantColumns = (t: typeof p) =>
  sql`${t.id}::text AS "id", ${t.userId}::text AS "userId", ${t.structureId}::text AS "structureId",
      ${t.role} AS "role", ${iso(t.createdAt)} AS "createdAt", ${iso(t.updatedAt)} AS "updatedAt"`;

/** The ids of a structure's ancestors and itself, root first, read off its path. */
export const chainOf = (path: SQL | AnyPgColumn) =>
  sql`string_to_array(trim(both '/' from ${path}), '/')::bigint[]`;

/**
 * `inner.path` lies in the subtree rooted at `root.path` (itself included). Written as a
 * byte-wise range rather than LIKE so the text_pattern_ops index serves it even when the
 * prefix comes from another row: every path in the subtree starts with `/a/b/`, and
 * `/a/b/` <= path < `/a/b0` holds exactly for those, since '0' follows '/'.
 */
export const inSubtree = (inner: SQL | AnyPgColumn, root: SQL | AnyPgColumn) =>
  sql`(${inner} ~>=~ ${root} AND ${inner} ~<~ (left(${root}, -1) || '0'))`;

/**
 * (`WHERE r.id = 1` tells the planner the counter is one row: left to its statistics it may
 * guess thousands, and cost a cheap lookup past the JIT threshold.)
 *
 * Wraps a query so that one statement answers the revision its snapshot reflects, whether
 * the subject of the request exists, and the rows. The inner query selects `"__key"`, the
 * keyset key of each row; an empty answer is one row with a null key.
 */
export const envelope = (exists: SQL, rows: SQL, dependencies: SQL = sql`NULL::text[]`) =>
  sql`SELECT r.value::text AS "__revision", (${exists}) AS "__found", (${dependencies}) AS "__deps", x.*
      FROM ${revisionCounter} r LEFT JOIN LATERAL (${rows}) x ON true
      WHERE r.id = 1
      ORDER BY x."__key"`;

export type Enveloped<T> = T & {
  __revision: string;
  __found: boolean;
  __deps: string[] | null;
  __key: string | number | null;
};

/** `dependencies`: the cache keys the answer depends on, read in the same snapshot, when the query names them. */
export type Page<T> = {
  items: T[];
  nextKey: string | null;
  revision: string;
  found: boolean;
  dependencies?: string[] | undefined;
};

/**
 * Splits an enveloped answer fetched with `limit + 1` rows into a page: the extra row only
 * says that there is more.
 */
export function toPage<T>(rows: Enveloped<T>[], limit: number, minRevision: string | undefined): Page<T> {
  const first = rows[0];
  if (!first) throw new Error("an enveloped query always answers one row");
  ensureReflects(first.__revision, minRevision);
  const present = first.__key === null ? [] : rows;
  const items = present.slice(0, limit).map(strip);
  const last = present[limit - 1];
  return {
    items,
    nextKey: present.length > limit && last ? String(last.__key) : null,
    revision: first.__revision,
    found: first.__found,
    dependencies: first.__deps ?? undefined,
  };
}

function strip<T>(row: Enveloped<T>): T {
  const { __revision, __found, __deps, __key, ...item } = row;
  return item as T;
}

/** A read asked to reflect a revision no write has reached yet is a client error. */
export function ensureReflects(revision: string, minRevision: string | undefined): void {
  if (minRevision !== undefined && BigInt(minRevision) > BigInt(revision)) {
    throw badRequest(`minRevision ${minRevision} is ahead of the latest committed revision ${revision}`, [
      { path: "minRevision", message: "ahead of the latest committed revision" },
    ]);
  }
}

/** Above this many structures, a set of subtrees counts as a large part of the tree. */
export const largeSubtree = 2_000;

/**
 * One page, in id order, of the structures (or of their members) inside a set of subtrees,
 * given by `roots` (a query yielding a `path` column, subtrees disjoint). Which plan is fast
 * depends on their size, which no planner estimate knows for a prefix taken from another row,
 * so the statement measures it (counting at most `largeSubtree` structures) and runs one of two
 * branches: small subtrees are walked through the path index and sorted; large ones by walking
 * ids in order and testing membership, which finds a page of matches at once.
 */
export function subtreePage(
  kind: "structures" | "members",
  roots: SQL,
  where: SQL,
  page: { after: string; limit: number },
): SQL {
  const take = page.limit + 1;
  const inRoots = sql`EXISTS (SELECT 1 FROM roots t WHERE ${inSubtree(d.path, sql`t.path`)})`;
  const size = sql`(SELECT count(*) FROM (SELECT 1 FROM roots t JOIN ${D} ON ${inSubtree(d.path, sql`t.path`)} LIMIT ${largeSubtree}) c)`;
  // Uncorrelated, so Postgres evaluates them once and skips the branch not taken.
  const isLarge = sql`(SELECT n FROM size) >= ${largeSubtree}`;
  const isSmall = sql`(SELECT n FROM size) < ${largeSubtree}`;
  const [large, small] =
    kind === "structures"
      ? [
          sql`SELECT ${structureColumns(d)}, ${d.id} AS "__key" FROM ${D}
              WHERE ${isLarge} AND ${inRoots} AND ${where} AND ${d.id} > ${page.after}
              ORDER BY ${d.id} LIMIT ${take}`,
          sql`SELECT x.* FROM roots t CROSS JOIN LATERAL (
                SELECT ${structureColumns(d)}, ${d.id} AS "__key" FROM ${D}
                WHERE ${inSubtree(d.path, sql`t.path`)} AND ${where} AND ${d.id} > ${page.after} OFFSET 0
              ) x WHERE ${isSmall} ORDER BY x."__key" LIMIT ${take}`,
        ]
      : [
          sql`SELECT ${userColumns(u)}, ${u.id} AS "__key" FROM ${U} JOIN ${D} ON ${d.id} = ${u.structureId}
              WHERE ${isLarge} AND ${inRoots} AND ${where} AND ${u.id} > ${page.after}
              ORDER BY ${u.id} LIMIT ${take}`,
          sql`SELECT x.* FROM roots t
              CROSS JOIN LATERAL (
                SELECT ${d.id} AS id FROM ${D} WHERE ${inSubtree(d.path, sql`t.path`)} AND ${where} OFFSET 0
              ) sd
              CROSS JOIN LATERAL (
                SELECT ${userColumns(u)}, ${u.id} AS "__key" FROM ${U}
                WHERE ${u.structureId} = sd.id AND ${u.id} > ${page.after} ORDER BY ${u.id} LIMIT ${take}
              ) x
              WHERE ${isSmall} ORDER BY x."__key" LIMIT ${take}`,
        ];
  return sql`WITH roots AS MATERIALIZED (${roots}), size AS MATERIALIZED (SELECT ${size} AS n)
    (${large}) UNION ALL (${small})`;
}
