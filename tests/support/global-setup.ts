import { migrationsFolder, openPostgres } from "@canopy/api";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { findPostgres, withDatabase } from "./postgres.ts";

declare module "vitest" {
  export interface ProvidedContext {
    postgresAdminUrl: string;
    templateDatabase: string;
  }
}

/**
 * Once per run: find (or start) a PostgreSQL and migrate a template database; each test file
 * then copies the template into a database of its own, so files run in parallel.
 */
export default async function setup(project: TestProject) {
  const server = await findPostgres();
  const template = `canopy_template_${process.pid}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${template}`);
  await admin.query(`CREATE DATABASE ${template}`);
  const db = openPostgres({ url: withDatabase(server.url, template), poolMax: 1 }, () => {});
  await db.migrate(migrationsFolder);
  await db.close();
  project.provide("postgresAdminUrl", server.url);
  project.provide("templateDatabase", template);

  return async () => {
    // Drop what the files created (and did not drop themselves), then the template.
    const { rows } = await admin.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE $1",
      [`canopy_t${process.pid}_%`],
    );
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    await admin.end();
    server.stop?.();
  };
}
