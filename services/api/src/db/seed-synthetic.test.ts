import { readdir, readFile } from "node:fs/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SeedOptions, seedSynthetic } from "./seed-synthetic.ts";

const ADMIN_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const MIGRATIONS = new URL("../../../../migrations/", import.meta.url);
const SMALL: SeedOptions = { users: 2000, structures: 300, depth: 6, grants: 3000, seed: 7 };
const quiet = () => {};

const prefix = `seed_synth_${process.pid}_${Date.now()}`;
const created: string[] = [];
const pools: pg.Pool[] = [];
let admin: pg.Pool;
/** A migrated, empty database that new test databases are cloned from. */
const template = `${prefix}_template`;

function urlFor(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

function poolFor(database: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: urlFor(database), max: 2 });
  // Idle clients see their database dropped at the end: that is expected, not a failure.
  pool.on("error", () => {});
  pools.push(pool);
  return pool;
}

async function migrate(database: string): Promise<void> {
  const client = new pg.Client({ connectionString: urlFor(database) });
  await client.connect();
  try {
    const files = (await readdir(MIGRATIONS)).filter((f) => f.endsWith(".sql")).sort();
    for (const file of files) {
      const sql = await readFile(new URL(file, MIGRATIONS), "utf8");
      for (const statement of sql.split("--> statement-breakpoint")) {
        if (statement.trim() !== "") await client.query(statement);
      }
    }
  } finally {
    await client.end();
  }
}

let counter = 0;
/** A fresh database in the freshly migrated state, and a pool on it. */
async function freshDatabase(): Promise<pg.Pool> {
  const name = `${prefix}_${++counter}`;
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  created.push(name);
  return poolFor(name);
}

/** md5 of each table's seeded columns (not the now() timestamps), rows ordered by id. */
async function contentHashes(pool: pg.Pool): Promise<Record<string, string>> {
  const { rows } = await pool.query<{ structures: string; users: string; permissions: string }>(`
    SELECT
      (SELECT md5(string_agg(r::text, E'\\n' ORDER BY r.id)) FROM
        (SELECT id, parent_id, path, depth, name, external_id FROM hierarchy_structures) r) AS structures,
      (SELECT md5(string_agg(r::text, E'\\n' ORDER BY r.id)) FROM
        (SELECT id, structure_id, email, name, external_id FROM users) r) AS users,
      (SELECT md5(string_agg(r::text, E'\\n' ORDER BY r.id)) FROM
        (SELECT id, user_id, structure_id, role FROM permissions) r) AS permissions`);
  return rows[0] as Record<string, string>;
}

/** Every index and constraint of the public schema, with its definition. */
async function schemaObjects(pool: pg.Pool): Promise<string[]> {
  const indexes = await pool.query<{ line: string }>(
    `SELECT format('index %s on %s: %s', indexname, tablename, indexdef) AS line
       FROM pg_indexes WHERE schemaname = 'public'`,
  );
  const constraints = await pool.query<{ line: string }>(
    `SELECT format('constraint %s on %s (%s, validated %s, deferrable %s): %s',
                   c.conname, c.conrelid::regclass, c.contype, c.convalidated, c.condeferrable,
                   pg_get_constraintdef(c.oid)) AS line
       FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
      WHERE n.nspname = 'public'`,
  );
  return [...indexes.rows, ...constraints.rows].map((r) => r.line).sort();
}

async function counts(pool: pg.Pool) {
  const { rows } = await pool.query<{ structures: number; users: number; permissions: number }>(`
    SELECT (SELECT count(*)::int FROM hierarchy_structures) AS structures,
           (SELECT count(*)::int FROM users) AS users,
           (SELECT count(*)::int FROM permissions) AS permissions`);
  return rows[0];
}

/** Structures whose path or depth does not follow from their parent's (roots: `/id/`, 0). */
async function inconsistentStructures(pool: pg.Pool): Promise<number | undefined> {
  const { rows } = await pool.query<{ bad: number }>(`
    SELECT count(*)::int AS bad
      FROM hierarchy_structures c
      LEFT JOIN hierarchy_structures p ON p.id = c.parent_id
     WHERE CASE WHEN c.parent_id IS NULL THEN c.path <> '/' || c.id || '/' OR c.depth <> 0
                ELSE p.id IS NULL OR c.path <> p.path || c.id || '/' OR c.depth <> p.depth + 1 END`);
  return rows[0]?.bad;
}

async function revisionState(pool: pg.Pool) {
  const { rows } = await pool.query<{ value: string; log: string }>(
    "SELECT (SELECT value FROM canopy_revision) AS value, (SELECT count(*) FROM canopy_change_log) AS log",
  );
  return rows[0];
}

describe("seedSynthetic", { timeout: 60_000 }, () => {
  let seeded: pg.Pool;
  let result: Awaited<ReturnType<typeof seedSynthetic>>;

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: ADMIN_URL, max: 1 });
    await admin.query(`CREATE DATABASE ${template}`);
    created.push(template);
    await migrate(template);
    seeded = await freshDatabase();
    result = await seedSynthetic(seeded, SMALL, quiet);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    for (const name of created.reverse()) {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
    await admin?.end();
  }, 60_000);

  it("loads exactly the requested numbers of structures, users and grants", async () => {
    expect(await counts(seeded)).toEqual({ structures: 300, users: 2000, permissions: 3000 });
    expect(result).toMatchObject({ structures: 300, users: 2000, grants: 3000 });
    expect(result.ms.total).toBeGreaterThan(0);
  });

  it("writes the rows frozen and all-visible, so index-only scans need no VACUUM first", async () => {
    const { rows } = await seeded.query<{ relname: string; visible: boolean }>(
      `SELECT relname, relallvisible = relpages AS visible FROM pg_class
        WHERE relname IN ('hierarchy_structures', 'users', 'permissions') ORDER BY relname`,
    );
    expect(rows.every((r) => r.visible)).toBe(true);
  });

  it("gives every structure its parent's path plus its own id, and its parent's depth plus one", async () => {
    expect(await inconsistentStructures(seeded)).toBe(0);
  });

  it("builds a tree of 1 to 3 roots that reaches exactly the requested depth, deeper levels fuller", async () => {
    const { rows } = await seeded.query<{ depth: number; n: number }>(
      "SELECT depth, count(*)::int AS n FROM hierarchy_structures GROUP BY depth ORDER BY depth",
    );
    expect(rows.map((r) => r.depth)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const sizes = rows.map((r) => r.n);
    expect(sizes[0]).toBeGreaterThanOrEqual(1);
    expect(sizes[0]).toBeLessThanOrEqual(3);
    expect((sizes[5] ?? 0) + (sizes[6] ?? 0)).toBeGreaterThan(300 / 2);
  });

  it("names users and structures predictably, with case-insensitively unique emails", async () => {
    const { rows } = await seeded.query<{ bad: number }>(`
      SELECT (SELECT count(*) FROM users
               WHERE email <> 'user' || id || '@example.com' OR external_id <> 'u-' || id)::int
           + (SELECT count(*) FROM hierarchy_structures
               WHERE name <> 'Unit ' || id OR external_id <> 's-' || id)::int AS bad`);
    expect(rows[0]?.bad).toBe(0);
  });

  it("grants each (user, structure) pair at most once, roles split about 70/20/10, few near the top", async () => {
    const { rows } = await seeded.query<{
      pairs: number;
      viewer: number;
      editor: number;
      admin: number;
      top: number;
    }>(`
      SELECT count(DISTINCT (p.user_id, p.structure_id))::int AS pairs,
             avg((p.role = 'viewer')::int)::float AS viewer,
             avg((p.role = 'editor')::int)::float AS editor,
             avg((p.role = 'admin')::int)::float AS admin,
             avg((s.depth <= 1)::int)::float AS top
        FROM permissions p JOIN hierarchy_structures s ON s.id = p.structure_id`);
    const r = rows[0];
    expect(r?.pairs).toBe(3000);
    expect(r?.viewer).toBeCloseTo(0.7, 1);
    expect(r?.editor).toBeCloseTo(0.2, 1);
    expect(r?.admin).toBeCloseTo(0.1, 1);
    expect(r?.top).toBeGreaterThan(0);
    expect(r?.top).toBeLessThan(0.05);
  });

  it("leaves indexes and constraints identical to a freshly migrated database", async () => {
    const fresh = `${prefix}_migrated`;
    await admin.query(`CREATE DATABASE ${fresh}`);
    created.push(fresh);
    await migrate(fresh);
    const expected = await schemaObjects(poolFor(fresh));
    expect(expected.some((l) => l.includes("text_pattern_ops"))).toBe(true);
    expect(expected.some((l) => l.includes("lower(email)"))).toBe(true);
    expect(await schemaObjects(seeded)).toEqual(expected);
  });

  it("records the load as one revision with a 'seed' change-log entry", async () => {
    expect(result.revision).toBe(1);
    const { rows } = await seeded.query(
      "SELECT revision::int, kind, structure_ids, user_ids, paths FROM canopy_change_log",
    );
    expect(rows).toEqual([{ revision: 1, kind: "seed", structure_ids: [], user_ids: [], paths: [] }]);
    expect(await revisionState(seeded)).toEqual({ value: "1", log: "1" });
  });

  it("reproduces identical table contents from the same seed, and different ones from another", async () => {
    const same = await freshDatabase();
    await seedSynthetic(same, SMALL, quiet);
    const other = await freshDatabase();
    await seedSynthetic(other, { ...SMALL, seed: 8 }, quiet);

    const reference = await contentHashes(seeded);
    expect(await contentHashes(same)).toEqual(reference);
    const differing = await contentHashes(other);
    expect(differing.structures).not.toBe(reference.structures);
    expect(differing.users).not.toBe(reference.users);
    expect(differing.permissions).not.toBe(reference.permissions);
  });

  it("refuses a database that already holds rows, and changes nothing", async () => {
    const before = {
      hashes: await contentHashes(seeded),
      schema: await schemaObjects(seeded),
      revision: await revisionState(seeded),
    };
    await expect(seedSynthetic(seeded, { ...SMALL, seed: 9 }, quiet)).rejects.toThrow(/not empty/);
    expect({
      hashes: await contentHashes(seeded),
      schema: await schemaObjects(seeded),
      revision: await revisionState(seeded),
    }).toEqual(before);
  });

  it("refuses a database with a single structure, leaving it and the schema in place", async () => {
    const pool = await freshDatabase();
    await pool.query(
      "INSERT INTO hierarchy_structures (parent_id, path, depth, name) VALUES (NULL, '/1/', 0, 'Existing')",
    );
    const schema = await schemaObjects(pool);
    await expect(seedSynthetic(pool, SMALL, quiet)).rejects.toThrow(/hierarchy_structures/);
    expect(await counts(pool)).toEqual({ structures: 1, users: 0, permissions: 0 });
    expect(await schemaObjects(pool)).toEqual(schema);
    expect(await revisionState(pool)).toEqual({ value: "0", log: "0" });
  });

  it("moves the identity sequences past the seeded ids, so later inserts do not conflict", async () => {
    const pool = await freshDatabase();
    await seedSynthetic(pool, SMALL, quiet);
    const s = await pool.query<{ id: string }>(
      "INSERT INTO hierarchy_structures (parent_id, path, depth, name) VALUES (1, '/1/301/', 1, 'New') RETURNING id",
    );
    expect(s.rows[0]?.id).toBe("301");
    const u = await pool.query<{ id: string }>(
      "INSERT INTO users (structure_id, email, name) VALUES (301, 'new@example.com', 'New') RETURNING id",
    );
    expect(u.rows[0]?.id).toBe("2001");
    const p = await pool.query<{ id: string }>(
      "INSERT INTO permissions (user_id, structure_id, role) VALUES (2001, 301, 'admin') RETURNING id",
    );
    expect(p.rows[0]?.id).toBe("3001");
  });

  it("builds as deep a tree as the number of structures allows, down to depth 0", async () => {
    for (const [structures, depth, expectedDepth] of [
      [4, 8, 3],
      [10, 0, 0],
      [20, 1, 1],
      [40, 2, 2],
    ] as const) {
      const pool = await freshDatabase();
      await seedSynthetic(pool, { users: 50, structures, depth, grants: 20, seed: 3 }, quiet);
      const { rows } = await pool.query<{ max: number }>(
        "SELECT max(depth) AS max FROM hierarchy_structures",
      );
      expect({ structures, depth, max: rows[0]?.max }).toEqual({ structures, depth, max: expectedDepth });
      expect(await counts(pool)).toEqual({ structures, users: 50, permissions: 20 });
      expect(await inconsistentStructures(pool)).toBe(0);
    }
  });

  it("can grant every possible (user, structure) pair, and refuses more than that", async () => {
    const pool = await freshDatabase();
    const all = { users: 6, structures: 5, depth: 2, grants: 30, seed: 1 };
    await expect(seedSynthetic(pool, { ...all, grants: 31 }, quiet)).rejects.toThrow(/distinct/);
    await seedSynthetic(pool, all, quiet);
    const { rows } = await pool.query<{ pairs: number }>(
      "SELECT count(DISTINCT (user_id, structure_id))::int AS pairs FROM permissions",
    );
    expect(rows[0]?.pairs).toBe(30);
  });
});
