import { randomBytes } from "node:crypto";
import { migrationsFolder, openPostgres, seedSynthetic } from "@canopy/api";
import pg from "pg";
import type { Sizes } from "./options.ts";

export type BenchDatabase = {
  url: string;
  /** Drops a scratch database; a no-op for one the caller named (BENCH_DATABASE_URL). */
  drop: () => Promise<void>;
  scratch: boolean;
};

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Hides a password, if the URL has one, before the URL is printed. */
export function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`cannot connect to ${redact(url)}: ${(err as Error).message}`);
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function openBenchDatabase(given: string | undefined, adminUrl: string): Promise<BenchDatabase> {
  if (given) return { url: given, scratch: false, drop: async () => {} };
  const name = `canopy_bench_${process.pid}_${randomBytes(3).toString("hex")}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  return {
    url: withDatabase(adminUrl, name),
    scratch: true,
    drop: () =>
      withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}

export type SeedReport = { seeded: boolean; counts: Sizes | Omit<Sizes, "seed">; ms: Record<string, number> };

/** Migrates, then seeds when the tables are empty; a database with data is used as it is. */
export async function prepare(url: string, sizes: Sizes, log: (msg: string) => void): Promise<SeedReport> {
  const db = openPostgres({ url, poolMax: 2, applicationName: "canopy-bench" }, () => {});
  const t0 = performance.now();
  try {
    await db.migrate(migrationsFolder);
  } finally {
    await db.close();
  }
  const migrateMs = Math.round(performance.now() - t0);
  const counts = await withClient(url, async (c) => {
    const { rows } = await c.query<{ users: string; structures: string; grants: string }>(
      `SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM hierarchy_structures) AS structures,
              (SELECT count(*) FROM permissions) AS grants`,
    );
    const r = rows[0];
    return { users: Number(r?.users), structures: Number(r?.structures), grants: Number(r?.grants) };
  });
  if (counts.users + counts.structures + counts.grants > 0) {
    log(`database already holds ${JSON.stringify(counts)}: using it as it is`);
    const { rows } = await withClient(url, (c) =>
      c.query<{ depth: number }>("SELECT max(depth)::int AS depth FROM hierarchy_structures"),
    );
    return { seeded: false, counts: { ...counts, depth: rows[0]?.depth ?? 0 }, ms: { migrate: migrateMs } };
  }
  const pool = new pg.Pool({ connectionString: url, max: 2, application_name: "canopy-bench-seed" });
  try {
    log(`seeding ${JSON.stringify(sizes)} ...`);
    const result = await seedSynthetic(pool, sizes, (msg, fields) => {
      if (msg === "seed-synthetic: rebuilt" || msg === "seed-synthetic: done") return;
      log(`  ${msg.replace("seed-synthetic: ", "")} ${fields?.ms ?? ""} ms`);
    });
    return { seeded: true, counts: sizes, ms: { migrate: migrateMs, ...result.ms } };
  } finally {
    await pool.end();
  }
}
