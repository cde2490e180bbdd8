import pg from "pg";

export type Pair = { userId: string; structureId: string; allowed: boolean };
export type Subjects = {
  /** Check subjects, allowed and denied interleaved (three allowed, then one denied). */
  pairs: Pair[];
  /** Users whose every grant sits on the bottom two levels of the tree. */
  viewers: string[];
  stats: Record<string, number>;
};

/** `d.path` lies in the subtree at `root` (itself included): the service's own range test. */
const inSubtree = (inner: string, root: string) =>
  `(${inner} ~>=~ ${root} AND ${inner} ~<~ (left(${root}, -1) || '0'))`;

/**
 * Allowed pairs: a grant on one of the three deepest levels, checked on the deepest structure
 * of its subtree (the grant's own structure when it is a leaf). hashint8 orders the sample the
 * same way on every run.
 */
const allowedSql = `
  WITH m AS (SELECT max(depth) AS d FROM hierarchy_structures),
  g AS MATERIALIZED (
    SELECT p.user_id, s.path FROM permissions p JOIN hierarchy_structures s ON s.id = p.structure_id, m
    WHERE s.depth >= m.d - 2
    ORDER BY hashint8(p.id), p.id LIMIT $1
  )
  SELECT g.user_id::text AS "userId", t.id::text AS "structureId", t.depth
  FROM g CROSS JOIN LATERAL (
    SELECT d.id, d.depth FROM hierarchy_structures d WHERE ${inSubtree("d.path", "g.path")}
    ORDER BY d.depth DESC, d.id LIMIT 1
  ) t`;

/** Which of the given pairs no grant on the structure's ancestor chain allows. */
const deniedSql = `
  SELECT q.ord::int AS ord FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY q(user_id, structure_id, ord)
  JOIN hierarchy_structures s ON s.id = q.structure_id
  WHERE NOT EXISTS (
    SELECT 1 FROM permissions p
    WHERE p.user_id = q.user_id AND p.structure_id = ANY(string_to_array(trim(both '/' from s.path), '/')::bigint[])
  )`;

/** Users with a grant on the bottom two levels and none higher up, so their visible set is small. */
const viewersSql = `
  WITH m AS (SELECT max(depth) AS d FROM hierarchy_structures),
  c AS MATERIALIZED (
    SELECT p.user_id, hashint8(p.id) AS h
    FROM permissions p JOIN hierarchy_structures s ON s.id = p.structure_id, m
    WHERE s.depth >= m.d - 1
    ORDER BY hashint8(p.id), p.id LIMIT $1::int * 4
  )
  SELECT c.user_id::text AS "userId" FROM c, m
  WHERE NOT EXISTS (
    SELECT 1 FROM permissions p JOIN hierarchy_structures s ON s.id = p.structure_id
    WHERE p.user_id = c.user_id AND s.depth < m.d - 1
  )
  GROUP BY c.user_id ORDER BY min(c.h), c.user_id LIMIT $1`;

export async function pickSubjects(url: string, pairs: number, viewers: number): Promise<Subjects> {
  const client = new pg.Client({ connectionString: url, application_name: "canopy-bench-subjects" });
  await client.connect();
  try {
    const allowed = (
      await client.query<{ userId: string; structureId: string; depth: number }>(allowedSql, [pairs])
    ).rows;
    if (allowed.length === 0) throw new Error("no grant on the deepest levels: is the database seeded?");
    // Cross the sampled users with other sampled structures; keep the crossings that deny.
    const shift = Math.max(1, Math.floor(allowed.length / 2));
    const crossed = allowed.map((a, i) => ({
      userId: a.userId,
      structureId: (allowed[(i + shift) % allowed.length] as { structureId: string }).structureId,
    }));
    const { rows: deniedRows } = await client.query<{ ord: number }>(deniedSql, [
      crossed.map((x) => x.userId),
      crossed.map((x) => x.structureId),
    ]);
    const denied = deniedRows.map((r) => crossed[r.ord - 1] as { userId: string; structureId: string });
    const mixed: Pair[] = [];
    let next = 0;
    allowed.forEach((a, i) => {
      mixed.push({ userId: a.userId, structureId: a.structureId, allowed: true });
      const d = denied[next];
      if (i % 3 === 2 && d) {
        mixed.push({ ...d, allowed: false });
        next++;
      }
    });
    const users = (await client.query<{ userId: string }>(viewersSql, [viewers])).rows.map((r) => r.userId);
    if (users.length === 0) throw new Error("no user holds grants only on the bottom levels of the tree");
    const depths = allowed.map((a) => a.depth);
    return {
      pairs: mixed,
      viewers: users,
      stats: {
        allowedPairs: allowed.length,
        deniedPairs: next,
        distinctUsers: new Set(mixed.map((p) => p.userId)).size,
        minCheckDepth: Math.min(...depths),
        maxCheckDepth: Math.max(...depths),
        viewers: users.length,
      },
    };
  } finally {
    await client.end().catch(() => {});
  }
}
