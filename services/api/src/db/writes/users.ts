import { sql } from "drizzle-orm";
import { conflict, notFound, unprocessable } from "../../domain/errors.ts";
import { parseId } from "../../domain/ids.ts";
import type { Database, Executor } from "../database.ts";
import { S, s, U, u, userColumns } from "../fragments.ts";
import type { User } from "../queries/structures.ts";
import { commitWrite } from "./commit.ts";

/** The path of the user's structure, for the change log. */
const pathOfUser = sql`(SELECT ${s.path} FROM ${S} WHERE ${s.id} = ${u.structureId})`;

export type NewUser = {
  email: string;
  name: string;
  structureId: string;
  externalId?: string | null | undefined;
};
export type UserPatch = Partial<NewUser>;

/** Conflicts first, then missing references: the contract ranks 409 above 422. */
async function checkUser(tx: Executor, input: UserPatch, self: string | null) {
  if (input.email !== undefined || input.externalId != null) {
    const [taken] = await tx.rows<{ email: boolean; external: boolean }>(
      "users.unique_taken",
      sql`SELECT
            EXISTS (SELECT 1 FROM ${U} WHERE lower(${u.email}) = lower(${input.email ?? null}::text)
                    AND ${u.id} IS DISTINCT FROM ${self}::bigint) AS email,
            EXISTS (SELECT 1 FROM ${U} WHERE ${u.externalId} = ${input.externalId ?? null}::text
                    AND ${u.id} IS DISTINCT FROM ${self}::bigint) AS external`,
    );
    if (taken?.email) throw conflict(`email ${JSON.stringify(input.email)} is already in use`);
    if (taken?.external) throw conflict(`externalId ${JSON.stringify(input.externalId)} is already in use`);
  }
  if (input.structureId !== undefined) {
    const rows = await tx.rows(
      "users.structure_exists",
      sql`SELECT 1 AS found FROM ${S} WHERE ${s.id} = ${parseId(input.structureId)} FOR KEY SHARE`,
    );
    if (rows.length === 0) throw unprocessable("structureId", "structure", input.structureId);
  }
}

export function createUser(db: Database, input: NewUser) {
  return commitWrite(
    db,
    async (tx) => {
      await checkUser(tx, input, null);
      const [row] = await tx.rows<User & { path: string }>(
        "users.insert",
        sql`INSERT INTO ${U} (structure_id, email, name, external_id)
            VALUES (${input.structureId}, ${input.email}, ${input.name}, ${input.externalId ?? null})
            RETURNING ${userColumns(u)}, ${pathOfUser} AS path`,
      );
      if (!row) throw new Error("insert returned nothing");
      const { path, ...user } = row;
      return {
        value: user as User,
        change: { kind: "user.create", userIds: [user.id], structureIds: [user.structureId], paths: [path] },
      };
    },
    () => unprocessable("structureId", "structure", input.structureId),
  );
}

export function updateUser(db: Database, rawId: string, patch: UserPatch) {
  const id = parseId(rawId);
  return commitWrite(
    db,
    async (tx) => {
      const [before] = await tx.rows<{ structureId: string; path: string }>(
        "users.lock",
        sql`SELECT ${u.structureId}::text AS "structureId", ${pathOfUser} AS path
            FROM ${U} WHERE ${u.id} = ${id} FOR UPDATE`,
      );
      if (!before || id === null) throw notFound("user", rawId);
      await checkUser(tx, patch, id);
      const [row] = await tx.rows<User & { path: string }>(
        "users.update",
        sql`UPDATE ${U} SET
              email = coalesce(${patch.email ?? null}, ${u.email}),
              name = coalesce(${patch.name ?? null}, ${u.name}),
              structure_id = coalesce(${patch.structureId ?? null}::bigint, ${u.structureId}),
              external_id = CASE WHEN ${patch.externalId !== undefined} THEN ${patch.externalId ?? null} ELSE ${u.externalId} END,
              updated_at = now()
            WHERE ${u.id} = ${id} RETURNING ${userColumns(u)}, ${pathOfUser} AS path`,
      );
      if (!row) throw notFound("user", rawId);
      const { path, ...user } = row;
      return {
        value: user as User,
        change: {
          kind: "user.update",
          userIds: [user.id],
          structureIds: [before.structureId, user.structureId],
          paths: [before.path, path],
        },
      };
    },
    () => unprocessable("structureId", "structure", patch.structureId ?? ""),
  );
}

/** Deletes the user; their grants go with them (ON DELETE CASCADE). */
export function deleteUser(db: Database, rawId: string) {
  const id = parseId(rawId);
  return commitWrite(db, async (tx) => {
    const [gone] = await tx.rows<{ structureId: string; path: string }>(
      "users.delete",
      sql`DELETE FROM ${U} WHERE ${u.id} = ${id} RETURNING ${u.structureId}::text AS "structureId", ${pathOfUser} AS path`,
    );
    if (!gone || id === null) throw notFound("user", rawId);
    return {
      value: null,
      change: { kind: "user.delete", userIds: [id], structureIds: [gone.structureId], paths: [gone.path] },
    };
  });
}
