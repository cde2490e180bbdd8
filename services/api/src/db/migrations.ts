import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { readMigrationFiles } from "drizzle-orm/migrator";
import type { Executor } from "./database.ts";

export const migrationsFolder = fileURLToPath(new URL("../../../../migrations", import.meta.url));

export type SchemaStatus = { applied: number; expected: number; behind: boolean };

/**
 * Compares what the database has applied (drizzle's journal table) with the migrations this
 * build ships, so a server never runs on a schema older than its code.
 */
export async function schemaStatus(db: Executor): Promise<SchemaStatus> {
  const expected = readMigrationFiles({ migrationsFolder });
  const last = expected.at(-1)?.folderMillis ?? 0;
  const [row] = await db
    .rows<{ applied: number; latest: string | null }>(
      "schema.status",
      sql`SELECT count(*)::int AS applied, max(created_at)::text AS latest
        FROM drizzle.__drizzle_migrations`,
    )
    .catch((err: { code?: string; cause?: { code?: string } }) => {
      // 3F000 / 42P01: no journal at all, nothing was ever migrated.
      const code = err.code ?? err.cause?.code;
      if (code === "3F000" || code === "42P01") return [{ applied: 0, latest: null }];
      throw err;
    });
  const applied = row?.applied ?? 0;
  return { applied, expected: expected.length, behind: Number(row?.latest ?? 0) < last };
}
