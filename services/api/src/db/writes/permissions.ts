import { sql } from "drizzle-orm";
import { conflict, notFound, unprocessable } from "../../domain/errors.ts";
import { parseId } from "../../domain/ids.ts";
import type { Role } from "../../domain/roles.ts";
import type { Database } from "../database.ts";
import { grantColumns, P, p, S, s, U, u } from "../fragments.ts";
import type { Grant } from "../queries/permissions.ts";
import { commitWrite } from "./commit.ts";

export type NewGrant = { userId: string; structureId: string; role: Role };

/** The change a grant makes: its holder, and the subtree of its structure. */
const grantChange = (kind: string, grant: { userId: string; structureId: string; path: string | null }) => ({
  kind,
  userIds: [grant.userId],
  structureIds: [grant.structureId],
  paths: [grant.path],
});

const pathOf = sql`(SELECT ${s.path} FROM ${S} WHERE ${s.id} = ${p.structureId})`;

export function createGrant(db: Database, input: NewGrant) {
  const userId = parseId(input.userId);
  const structureId = parseId(input.structureId);
  return commitWrite(
    db,
    async (tx) => {
      const [found] = await tx.rows<{ duplicate: boolean; user: boolean; structure: boolean }>(
        "permissions.references",
        sql`SELECT
              EXISTS (SELECT 1 FROM ${P} WHERE ${p.userId} = ${userId} AND ${p.structureId} = ${structureId}) AS duplicate,
              EXISTS (SELECT 1 FROM ${U} WHERE ${u.id} = ${userId}) AS user,
              EXISTS (SELECT 1 FROM ${S} WHERE ${s.id} = ${structureId}) AS structure`,
      );
      if (found?.duplicate)
        throw conflict("the user already holds a grant on this structure; change its role instead");
      if (!found?.user) throw unprocessable("userId", "user", input.userId);
      if (!found?.structure) throw unprocessable("structureId", "structure", input.structureId);
      const [grant] = await tx.rows<Grant & { path: string }>(
        "permissions.insert",
        sql`INSERT INTO ${P} (user_id, structure_id, role) VALUES (${userId}, ${structureId}, ${input.role}::role)
            RETURNING ${grantColumns(p)}, ${pathOf} AS path`,
      );
      if (!grant) throw new Error("insert returned nothing");
      const { path, ...value } = grant;
      return { value: value as Grant, change: grantChange("grant.create", grant) };
    },
    () => unprocessable("structureId", "user or structure", `${input.userId}/${input.structureId}`),
  );
}

export function updateGrant(db: Database, rawId: string, role: Role) {
  const id = parseId(rawId);
  return commitWrite(db, async (tx) => {
    const [grant] = await tx.rows<Grant & { path: string }>(
      "permissions.update",
      sql`UPDATE ${P} SET role = ${role}::role, updated_at = now() WHERE ${p.id} = ${id}
          RETURNING ${grantColumns(p)}, ${pathOf} AS path`,
    );
    if (!grant) throw notFound("grant", rawId);
    const { path, ...value } = grant;
    return { value: value as Grant, change: grantChange("grant.update", grant) };
  });
}

export function deleteGrant(db: Database, rawId: string) {
  const id = parseId(rawId);
  return commitWrite(db, async (tx) => {
    const [grant] = await tx.rows<{ userId: string; structureId: string; path: string }>(
      "permissions.delete",
      sql`DELETE FROM ${P} WHERE ${p.id} = ${id}
          RETURNING ${p.userId}::text AS "userId", ${p.structureId}::text AS "structureId", ${pathOf} AS path`,
    );
    if (!grant) throw notFound("grant", rawId);
    return { value: null, change: grantChange("grant.delete", grant) };
  });
}
