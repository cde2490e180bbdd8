import { sql } from "drizzle-orm";
import { idArray } from "../../domain/ids.ts";
import type { Role } from "../../domain/roles.ts";
import type { Executor } from "../database.ts";
import { P, p, S, s, U, u } from "../fragments.ts";
import { revisionCounter } from "../schema/index.ts";

export type CheckInputs = {
  revision: bigint;
  /** Path of each structure found. */
  paths: Map<string, string>;
  /** Grants of each user found, by structure id. */
  grants: Map<string, Map<string, Role>>;
};

/**
 * What checks are computed from, for the structures and users asked: their paths (the
 * ancestor chains) and their grants, with the revision of the snapshot, in one statement.
 */
export async function loadCheckInputs(
  db: Executor,
  structureIds: readonly string[],
  userIds: readonly string[],
): Promise<CheckInputs> {
  const [row] = await db.rows<{
    revision: string;
    structures: [string, string][];
    users: [string, [string, Role][]][];
  }>(
    "check.inputs",
    sql`SELECT r.value::text AS revision,
          (SELECT coalesce(json_agg(json_build_array(${s.id}::text, ${s.path})), '[]')
             FROM ${S} WHERE ${s.id} = ANY(${idArray(structureIds)}::bigint[])) AS structures,
          (SELECT coalesce(json_agg(json_build_array(${u.id}::text, (
              SELECT coalesce(json_agg(json_build_array(${p.structureId}::text, ${p.role})), '[]')
              FROM ${P} WHERE ${p.userId} = ${u.id}))), '[]')
             FROM ${U} WHERE ${u.id} = ANY(${idArray(userIds)}::bigint[])) AS users
        FROM ${revisionCounter} r WHERE r.id = 1`,
  );
  if (!row) throw new Error("the revision counter row is missing; run migrations");
  return {
    revision: BigInt(row.revision),
    paths: new Map(row.structures),
    grants: new Map(row.users.map(([id, grants]) => [id, new Map(grants)])),
  };
}
