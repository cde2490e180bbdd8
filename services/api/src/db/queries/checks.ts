import { sql } from "drizzle-orm";
import { idArray } from "../../domain/ids.ts";
import type { Role } from "../../domain/roles.ts";
import type { Executor } from "../database.ts";
import { chainOf, ensureReflects, P, p, S, s, U, u } from "../fragments.ts";
import { revisionCounter } from "../schema/index.ts";

export type Subject = { userId: string | null; structureId: string | null };
export type Decision = {
  userFound: boolean;
  structureFound: boolean;
  role: Role | null;
  grantedAt: string | null;
};

/**
 * The effective role of each (user, structure) pair, in one statement: for each pair, the
 * user's grants on the structure's ancestor chain (read off its path, served by the unique
 * (user_id, structure_id) index), highest role first, nearest first among equals.
 */
export async function decide(
  db: Executor,
  subjects: readonly Subject[],
  minRevision: string | undefined,
): Promise<{ decisions: Decision[]; revision: string }> {
  const rows = await db.rows<Decision & { revision: string }>(
    "check.decide",
    sql`SELECT r.value::text AS "revision", ${u.id} IS NOT NULL AS "userFound",
               ${s.id} IS NOT NULL AS "structureFound", g.role AS "role", g.granted_at AS "grantedAt"
        FROM unnest(${idArray(subjects.map((x) => x.userId))}::bigint[],
                    ${idArray(subjects.map((x) => x.structureId))}::bigint[])
             WITH ORDINALITY AS q(user_id, structure_id, ord)
        CROSS JOIN ${revisionCounter} r
        LEFT JOIN ${U} ON ${u.id} = q.user_id
        LEFT JOIN ${S} ON ${s.id} = q.structure_id
        LEFT JOIN LATERAL (
          SELECT ${p.role} AS role, ${p.structureId}::text AS granted_at FROM ${P}
          WHERE ${p.userId} = ${u.id} AND ${p.structureId} = ANY(${chainOf(s.path)})
          ORDER BY ${p.role} DESC, array_position(${chainOf(s.path)}, ${p.structureId}) DESC
          LIMIT 1
        ) g ON true
        ORDER BY q.ord`,
  );
  const revision = rows[0]?.revision ?? "0";
  ensureReflects(revision, minRevision);
  return { decisions: rows.map(({ revision: _, ...decision }) => decision), revision };
}
