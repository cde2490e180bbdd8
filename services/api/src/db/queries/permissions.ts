import { sql } from "drizzle-orm";
import type { Executor } from "../database.ts";
import { envelope, grantColumns, P, p } from "../fragments.ts";
import { afterKey, fetchLimit, type PageRequest, type ReadRequest, readOne, readPage } from "./page.ts";

export type Grant = {
  id: string;
  userId: string;
  structureId: string;
  role: string;
  createdAt: string;
  updatedAt: string;
};

export function getGrant(db: Executor, id: string | null, read: ReadRequest) {
  return readOne<Grant>(
    db,
    "permissions.get",
    envelope(sql`true`, sql`SELECT ${grantColumns(p)}, ${p.id} AS "__key" FROM ${P} WHERE ${p.id} = ${id}`),
    read,
  );
}

/** Filters are optional; each combination is its own statement so each gets its own plan. */
export function listGrants(
  db: Executor,
  filter: { userId?: string | null | undefined; structureId?: string | null | undefined },
  page: PageRequest,
) {
  const byUser = filter.userId !== undefined;
  const byStructure = filter.structureId !== undefined;
  const where = sql.join(
    [
      byUser ? sql`${p.userId} = ${filter.userId}` : undefined,
      byStructure ? sql`${p.structureId} = ${filter.structureId}` : undefined,
      sql`${p.id} > ${afterKey(page)}`,
    ].filter((x) => x !== undefined),
    sql` AND `,
  );
  const name = `permissions.list${byUser ? ".by_user" : ""}${byStructure ? ".by_structure" : ""}`;
  return readPage<Grant>(
    db,
    name,
    envelope(
      sql`true`,
      sql`SELECT ${grantColumns(p)}, ${p.id} AS "__key" FROM ${P}
          WHERE ${where} ORDER BY ${p.id} LIMIT ${fetchLimit(page)}`,
    ),
    page,
  );
}
