import { sql } from "drizzle-orm";
import type { Executor } from "../database.ts";

/**
 * Which database this is: the Postgres cluster's system identifier (new for every initdb, shared
 * by its streaming replicas) and the database's oid within it. Shared caches are scoped by it, so
 * two databases never read each other's entries, even with the same ids.
 */
export async function databaseIdentity(db: Executor): Promise<string> {
  const [row] = await db.rows<{ id: string }>(
    "database.identity",
    sql`SELECT system_identifier::text || '.' || (SELECT oid FROM pg_database WHERE datname = current_database())::text AS id
        FROM pg_control_system()`,
  );
  if (!row) throw new Error("the database did not say who it is");
  return row.id;
}
