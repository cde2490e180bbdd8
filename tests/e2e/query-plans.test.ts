/**
 * The hot statements keep their index plans at a realistic size: 100k structures, 200k users
 * and 300k grants loaded with seedSynthetic, the statements built by the service's own query
 * functions (through a capturing Executor), and EXPLAINed on real Postgres with the planner
 * settings untouched.
 *
 * Each statement is explained twice: with its parameters as an unnamed statement (what a first
 * execution plans) and as a prepared statement after five executions, which is how the service
 * runs it (node-postgres prepares every named statement once per connection, and Postgres may then
 * switch to a generic plan). PRINT_PLANS=1 prints the plans.
 */
import { seedSynthetic } from "@canopy/api";
import type { Executor } from "@canopy/api/db/database.ts";
import { loadCheckInputs } from "@canopy/api/db/queries/check-inputs.ts";
import { listDescendants } from "@canopy/api/db/queries/structures.ts";
import { listVisibleUsers } from "@canopy/api/db/queries/users.ts";
import { PgDialect } from "drizzle-orm/pg-core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../support/database.ts";

type Query = Parameters<Executor["rows"]>[1];
type Dialect = { sqlToQuery(query: Query): { sql: string; params: unknown[] } };

type PlanNode = {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Index Cond"?: string;
  Plans?: PlanNode[];
};
/** The top of `EXPLAIN (FORMAT JSON)`: `JIT` is there when the executor would JIT-compile. */
type Explain = { Plan: PlanNode; JIT?: { Functions: number } };
type Explained = { text: string; params: unknown[]; plan: Explain; prepared: Explain };

/**
 * At seed 4 unit 5 sits under root 1 with 2.5% of the tree, so `path LIKE '/1/5/%'` is a
 * selective prefix (at seeds 1, 5, 6 and 7 it holds a third to a half of the tree, where a Seq
 * Scan is the right plan).
 */
const SEED = 4;
const LARGE_TABLES = ["users", "hierarchy_structures", "permissions"];

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/** One line per node, indented: what a failed assertion shows. */
function show(plan: PlanNode, depth = 0): string {
  const on = plan["Relation Name"] ? ` on ${plan["Relation Name"]}` : "";
  const using = plan["Index Name"] ? ` using ${plan["Index Name"]}` : "";
  const cond = plan["Index Cond"] ? ` [${plan["Index Cond"]}]` : "";
  const line = `${"  ".repeat(depth)}${plan["Node Type"]}${using}${on}${cond}`;
  return [line, ...(plan.Plans ?? []).map((p) => show(p, depth + 1))].join("\n");
}

const indexesOf = (plan: PlanNode) => new Set(nodes(plan).flatMap((n) => n["Index Name"] ?? []));
const seqScansOf = (plan: PlanNode) =>
  nodes(plan)
    .filter((n) => n["Node Type"] === "Seq Scan" && LARGE_TABLES.includes(n["Relation Name"] ?? ""))
    .map((n) => n["Relation Name"]);

/**
 * Named indexes, no Seq Scan on a large table and no JIT: these statements take well under a
 * millisecond, and JIT compilation alone costs 20+ ms (it is planned when the estimated total
 * cost passes jit_above_cost, i.e. when the estimates are badly off).
 */
function expectPlan(explained: Explain, indexes: string[]) {
  const plan = explained.Plan;
  const text = `\n${show(plan)}`;
  expect(seqScansOf(plan), `no Seq Scan on a large table:${text}`).toEqual([]);
  for (const index of indexes) expect([...indexesOf(plan)], `uses ${index}:${text}`).toContain(index);
  expect(explained.JIT?.Functions ?? 0, `no JIT compilation:${text}`).toBe(0);
}

describe("query plans at 100k structures, 200k users, 300k grants", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: pg.Pool;
  let client: pg.PoolClient;
  const dialect: Dialect = new PgDialect();
  const captured = new Map<string, Explained>();
  let statement = 0;

  async function explain(text: string, params: unknown[]): Promise<Explain> {
    const { rows } = await client.query({ text: `EXPLAIN (FORMAT JSON) ${text}`, values: params });
    return rows[0]["QUERY PLAN"][0];
  }

  /** The plan a prepared statement settles on after the five custom plans Postgres always tries. */
  async function explainPrepared(text: string, params: unknown[]): Promise<Explain> {
    const name = `plan_test_${++statement}`;
    const args = params.map((p) => client.escapeLiteral(String(p))).join(", ");
    await client.query(`PREPARE ${name} AS ${text}`);
    try {
      for (let i = 0; i < 5; i++) await client.query(`EXECUTE ${name}(${args})`);
      const { rows } = await client.query(`EXPLAIN (FORMAT JSON) EXECUTE ${name}(${args})`);
      return rows[0]["QUERY PLAN"][0];
    } finally {
      await client.query(`DEALLOCATE ${name}`);
    }
  }

  /** Records the statement's plans, then runs it for real so the query function gets its rows. */
  const executor: Executor = {
    target: "primary",
    async rows<T>(name: string, query: Query): Promise<T[]> {
      const { sql: text, params } = dialect.sqlToQuery(query);
      const plan = await explain(text, params);
      const prepared = await explainPrepared(text, params);
      captured.set(name, { text, params, plan, prepared });
      if (process.env.PRINT_PLANS) {
        const jit = (e: Explain) => (e.JIT ? ` (JIT: ${e.JIT.Functions} functions)` : "");
        console.log(
          `${name} ${JSON.stringify(params)}${jit(plan)}\n${show(plan.Plan)}\n` +
            `-- prepared, 6th execution${jit(prepared)}:\n${show(prepared.Plan)}`,
        );
      }
      return (await client.query({ text, values: params })).rows as T[];
    },
  };

  const one = async <T extends Record<string, unknown>>(text: string, params: unknown[] = []) => {
    const { rows } = await client.query<T>(text, params);
    if (!rows[0]) throw new Error(`no row for ${text}`);
    return rows[0];
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    await seedSynthetic(
      pool,
      { users: 200_000, structures: 100_000, depth: 8, grants: 300_000, seed: SEED },
      () => {},
    );
    client = await pool.connect();
  });

  afterAll(async () => {
    client?.release();
    await pool?.end();
    await database?.drop();
  });

  /** Grants on one of the three deepest levels, each checked on the deepest structure below it. */
  async function checkSubjects(count: number) {
    const { rows } = await client.query<{ userId: string; structureId: string }>(
      `SELECT p.user_id::text AS "userId", t.id::text AS "structureId"
       FROM permissions p JOIN hierarchy_structures s ON s.id = p.structure_id
       CROSS JOIN LATERAL (
         SELECT d.id FROM hierarchy_structures d
         WHERE d.path ~>=~ s.path AND d.path ~<~ (left(s.path, -1) || '0') ORDER BY d.depth DESC, d.id LIMIT 1
       ) t
       WHERE s.depth = (SELECT max(depth) - 2 FROM hierarchy_structures)
       ORDER BY p.id LIMIT $1`,
      [count],
    );
    expect(rows).toHaveLength(count);
    return rows;
  }
  const checkIndexes = ["users_pkey", "hierarchy_structures_pkey", "permissions_user_id_structure_id_key"];

  const inputsOf = (subjects: { userId: string; structureId: string }[]) =>
    loadCheckInputs(
      executor,
      subjects.map((x) => x.structureId),
      subjects.map((x) => x.userId),
    );

  it("check.inputs for a deep structure: primary keys and the (user_id, structure_id) index", async () => {
    const [subject] = await checkSubjects(1);
    const inputs = await inputsOf(subject ? [subject] : []);
    expect(inputs.paths.get(subject?.structureId ?? "")).toMatch(/^\/(\d+\/)+$/);
    expect(inputs.grants.get(subject?.userId ?? "")?.size).toBeGreaterThan(0);

    const { plan, prepared } = captured.get("check.inputs") as Explained;
    expectPlan(plan, checkIndexes);
    expectPlan(prepared, checkIndexes);
  });

  it("check.inputs for a batch of 10 (POST /v1/check/batch): the same plan, no JIT", async () => {
    const subjects = await checkSubjects(10);
    const inputs = await inputsOf(subjects);
    expect(inputs.paths.size).toBe(new Set(subjects.map((x) => x.structureId)).size);

    const { plan, prepared } = captured.get("check.inputs") as Explained;
    expectPlan(plan, checkIndexes);
    expectPlan(prepared, checkIndexes);
  });

  it("structures.descendants of a small subtree: the path index", async () => {
    const root = await one<{ id: string; size: number }>(`
      SELECT s.id::text AS id, count(*)::int AS size
      FROM hierarchy_structures s
      JOIN hierarchy_structures d ON d.path ~>=~ s.path AND d.path ~<~ (left(s.path, -1) || '0') AND d.id <> s.id
      WHERE s.depth = (SELECT max(depth) - 3 FROM hierarchy_structures)
      GROUP BY s.id ORDER BY count(*) DESC, s.id LIMIT 1`);
    const page = await listDescendants(executor, root.id, undefined, { after: null, limit: 50 });
    expect(page.found).toBe(true);
    expect(page.items.length).toBe(Math.min(50, root.size));

    const { plan, prepared } = captured.get("structures.descendants") as Explained;
    const indexes = ["hierarchy_structures_pkey", "hierarchy_structures_path_idx"];
    expectPlan(plan, indexes);
    expectPlan(prepared, indexes);
  });

  it("users.visible_users, first page, for a user with leaf-level grants: grants, path and members indexes", async () => {
    // Grants only on the two deepest levels; the subtrees hold a few dozen users at most.
    const viewer = await one<{ user_id: string }>(`
      SELECT p.user_id::text AS user_id FROM permissions p JOIN hierarchy_structures s ON s.id = p.structure_id
      GROUP BY p.user_id
      HAVING min(s.depth) >= (SELECT max(depth) - 1 FROM hierarchy_structures)
      ORDER BY p.user_id LIMIT 1`);
    const page = await listVisibleUsers(executor, viewer.user_id, "read", { after: null, limit: 50 });
    expect(page.found).toBe(true);
    expect(page.items.length).toBeGreaterThan(0);

    const { plan, prepared } = captured.get("users.visible_users") as Explained;
    const indexes = [
      "permissions_user_id_structure_id_key",
      "hierarchy_structures_path_idx",
      "users_structure_id_idx",
    ];
    expectPlan(plan, indexes);
    expectPlan(prepared, indexes);
  });

  it("users.visible_users for a user granted on a root: walks users in id order, and agrees with a brute-force join", async () => {
    const viewer = await one<{ user_id: string }>(`
      SELECT p.user_id::text AS user_id FROM permissions p JOIN hierarchy_structures s ON s.id = p.structure_id
      WHERE s.depth = 0 ORDER BY p.user_id LIMIT 1`);
    const page = await listVisibleUsers(executor, viewer.user_id, "read", { after: null, limit: 50 });
    const { rows: expected } = await client.query<{ id: string }>(
      `SELECT u.id::text AS id FROM users u JOIN hierarchy_structures d ON d.id = u.structure_id
       WHERE EXISTS (SELECT 1 FROM permissions p JOIN hierarchy_structures g ON g.id = p.structure_id
                     WHERE p.user_id = $1 AND d.path LIKE g.path || '%')
       ORDER BY u.id LIMIT 50`,
      [viewer.user_id],
    );
    expect(page.items.map((x) => x.id)).toEqual(expected.map((x) => x.id));
    const { plan, prepared } = captured.get("users.visible_users") as Explained;
    expectPlan(plan, ["users_pkey", "hierarchy_structures_path_idx"]);
    expectPlan(prepared, ["users_pkey", "hierarchy_structures_path_idx"]);
  });

  it("structures.descendants of a root, next page: walks ids in order, and agrees with a brute-force scan", async () => {
    const root = await one<{ id: string; path: string }>(
      "SELECT id::text AS id, path FROM hierarchy_structures WHERE depth = 0 ORDER BY id LIMIT 1",
    );
    const page = await listDescendants(executor, root.id, 2, { after: "100", limit: 20 });
    const { rows: expected } = await client.query<{ id: string }>(
      `SELECT id::text AS id FROM hierarchy_structures
       WHERE path LIKE $1 || '%' AND id <> $2 AND depth <= 2 AND id > 100 ORDER BY id LIMIT 20`,
      [root.path, root.id],
    );
    expect(page.items.map((x) => x.id)).toEqual(expected.map((x) => x.id));
  });

  it("a literal prefix LIKE on path uses the text_pattern_ops index", async () => {
    // Unless the database collates in "C" (these collate in C.UTF-8), only the text_pattern_ops
    // index can serve LIKE 'prefix%'.
    const plan = async (sql: string) =>
      (await client.query(`EXPLAIN (FORMAT JSON) ${sql}`)).rows[0]["QUERY PLAN"][0] as Explain;
    expectPlan(await plan("SELECT id FROM hierarchy_structures WHERE path LIKE '/1/5/%'"), [
      "hierarchy_structures_path_idx",
    ]);
    const deep = await one<{ path: string }>(
      "SELECT path FROM hierarchy_structures WHERE depth = (SELECT max(depth) - 3 FROM hierarchy_structures) ORDER BY id LIMIT 1",
    );
    expectPlan(
      await plan(
        `SELECT id FROM hierarchy_structures WHERE path LIKE ${client.escapeLiteral(`${deep.path}%`)}`,
      ),
      ["hierarchy_structures_path_idx"],
    );
  });
});
