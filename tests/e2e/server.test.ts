import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { testSecret } from "../support/app.ts";
import { createTestDatabase } from "../support/database.ts";
import { withDatabase } from "../support/postgres.ts";
import { type Running, runCli, runServerToExit, startServer } from "../support/process.ts";

const servers: Running[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop("SIGKILL");
});
const track = (s: Running) => {
  servers.push(s);
  return s;
};

describe("the server process", () => {
  it("refuses to start on a bad configuration, listing every problem", async () => {
    const { code, output } = await runServerToExit({
      NODE_ENV: "production",
      AUTH_MODE: "none",
      AUTH_JWT_SECRET: "too-short",
      DB_POOL_MAX: "zero",
    });
    expect(code).toBe(1);
    expect(output).toContain("AUTH_MODE=none is refused when NODE_ENV=production");
    expect(output).toContain("AUTH_JWT_SECRET: must be at least 32 bytes");
    expect(output).toContain("DB_POOL_MAX");
  });

  it("refuses a schema that is behind, naming the command, and starts once migrated", async () => {
    const admin = new pg.Client({ connectionString: inject("postgresAdminUrl") });
    await admin.connect();
    const name = `canopy_t${inject("templateDatabase").split("_").at(-1)}_empty${process.pid}`;
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
    const env = { DATABASE_URL: withDatabase(inject("postgresAdminUrl"), name), AUTH_JWT_SECRET: testSecret };
    try {
      const refused = await runServerToExit(env);
      expect(refused.code).toBe(1);
      expect(refused.output).toContain("pnpm canopy migrate");
      const migrated = await runCli(["migrate"], env);
      expect(migrated.code).toBe(0);
      const server = track(await startServer(env));
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      expect(await server.stop()).toBe(0);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });

  it("drains on SIGTERM: the in-flight write finishes, then the process exits 0 well within 10 s", async () => {
    const db = await createTestDatabase();
    const env = { DATABASE_URL: db.url, AUTH_JWT_SECRET: testSecret };
    const token = (await runCli(["token", "--scope", "canopy:write"], env)).output.trim();
    const server = track(await startServer(env));
    // Hold the revision row so the write blocks just before committing.
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    await blocker.query("BEGIN");
    await blocker.query("SELECT value FROM canopy_revision FOR UPDATE");
    const write = fetch(`${server.url}/v1/structures`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "in flight" }),
    });
    await new Promise((r) => setTimeout(r, 300));
    const signalled = Date.now();
    server.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    expect(server.child.exitCode).toBeNull();
    await blocker.query("COMMIT");
    await blocker.end();
    const res = await write;
    expect(res.status).toBe(201);
    expect(await server.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(server.output()).toContain('"msg":"stopped"');
    await db.drop();
  });

  it("runs on the embedded default: migrates, seeds a demo organisation once, prints a working token, and keeps both across restarts", async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), "canopy-embedded-")), "data");
    const first = track(await startServer({ DATA_DIR: dataDir }));
    const token = /export TOKEN=(\S+)/.exec(first.output())?.[1];
    expect(token).toBeTruthy();
    const list = async (url: string, t: string) =>
      fetch(`${url}/v1/structures?limit=1000`, { headers: { authorization: `Bearer ${t}` } });
    const before = await list(first.url, token as string);
    expect(before.status).toBe(200);
    const names = ((await before.json()) as { items: { name: string }[] }).items.map((s) => s.name);
    expect(names).toContain("Acme");
    expect(await first.stop()).toBe(0);

    const second = track(await startServer({ DATA_DIR: dataDir }));
    const after = await list(second.url, token as string);
    expect(after.status).toBe(200);
    expect(((await after.json()) as { items: { name: string }[] }).items.map((s) => s.name)).toEqual(names);
    expect(await second.stop()).toBe(0);
  });
});
