import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlive } from "./exit-cleanup.ts";
import {
  type ReplicaPair,
  startPrimaryWithReplica,
  stopAllReplicaPairs,
  sweepStaleReplicaDirs,
} from "./replica.ts";

async function query<R extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

// tsx as a loader of this node process (its CLI would put a node process of its own in between).
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

const count = async (url: string) =>
  (await query<{ n: number }>(url, "SELECT count(*)::int AS n FROM notes"))[0]?.n;

describe("startPrimaryWithReplica", () => {
  let pair: ReplicaPair;

  beforeAll(async () => {
    const t0 = Date.now();
    pair = await startPrimaryWithReplica();
    console.log(`startPrimaryWithReplica: ${Date.now() - t0} ms`);
  });

  afterAll(async () => {
    await stopAllReplicaPairs();
  });

  it("gives a primary and a replica in recovery, both on the canopy database", async () => {
    expect(pair.replicaHostPort).toBe(`127.0.0.1:${pair.replicaPort}`);
    expect(pair.primaryUrl).toBe(`postgres://postgres@127.0.0.1:${pair.primaryPort}/canopy`);
    expect(pair.replicaUrl).toBe(`postgres://postgres@127.0.0.1:${pair.replicaPort}/canopy`);
    const [p] = await query<{ r: boolean; db: string }>(
      pair.primaryUrl,
      "SELECT pg_is_in_recovery() r, current_database() db",
    );
    const [r] = await query<{ r: boolean; db: string }>(
      pair.replicaUrl,
      "SELECT pg_is_in_recovery() r, current_database() db",
    );
    expect(p).toEqual({ r: false, db: "canopy" });
    expect(r).toEqual({ r: true, db: "canopy" });
    await expect(query(pair.replicaUrl, "CREATE TABLE nope (id int)")).rejects.toThrow(
      /read-only transaction/,
    );
  });

  it("replicates what the primary writes", async () => {
    await query(pair.primaryUrl, "CREATE TABLE notes (id int PRIMARY KEY, body text)");
    await query(pair.primaryUrl, "INSERT INTO notes VALUES (1, 'first')");
    const t0 = Date.now();
    await pair.waitForReplay(5_000);
    console.log(`waitForReplay: ${Date.now() - t0} ms`);
    expect(await query(pair.replicaUrl, "SELECT id, body FROM notes")).toEqual([{ id: 1, body: "first" }]);
  });

  it("pauseReplay holds new rows back from the replica until resumeReplay", async () => {
    await pair.pauseReplay();
    try {
      await query(pair.primaryUrl, "INSERT INTO notes VALUES (2, 'while paused')");
      await expect(pair.waitForReplay(500)).rejects.toThrow(/replayed up to/);
      expect(await count(pair.replicaUrl)).toBe(1);
      expect(await count(pair.primaryUrl)).toBe(2);
    } finally {
      await pair.resumeReplay();
    }
    await pair.waitForReplay(5_000);
    expect(await count(pair.replicaUrl)).toBe(2);
  });

  it("stopReplica refuses connections; startReplica catches up with what was written meanwhile", async () => {
    const t0 = Date.now();
    await pair.stopReplica();
    const stopMs = Date.now() - t0;
    await expect(query(pair.replicaUrl, "SELECT 1")).rejects.toThrow(/ECONNREFUSED/);
    await query(pair.primaryUrl, "INSERT INTO notes VALUES (3, 'while the replica was down')");
    const t1 = Date.now();
    await pair.startReplica();
    console.log(`stopReplica: ${stopMs} ms, startReplica: ${Date.now() - t1} ms`);
    await pair.waitForReplay(10_000);
    expect(await count(pair.replicaUrl)).toBe(3);
    // And streaming goes on.
    await query(pair.primaryUrl, "INSERT INTO notes VALUES (4, 'after the restart')");
    await pair.waitForReplay(5_000);
    expect(await count(pair.replicaUrl)).toBe(4);
  });

  it("stop shuts both down", async () => {
    const other = await startPrimaryWithReplica();
    const t0 = Date.now();
    await other.stop();
    console.log(`stop: ${Date.now() - t0} ms`);
    await expect(query(other.primaryUrl, "SELECT 1")).rejects.toThrow(/ECONNREFUSED/);
    await expect(query(other.replicaUrl, "SELECT 1")).rejects.toThrow(/ECONNREFUSED/);
    // The first pair is unaffected.
    expect(await count(pair.replicaUrl)).toBe(4);
  });

  it("dies with the process that started it, even one killed by a signal; the next call removes its folders", async () => {
    const dir = mkdtempSync(join(tmpdir(), "canopy-replica-test-"));
    const script = join(dir, "start.mts");
    writeFileSync(
      script,
      `import { readFileSync } from "node:fs";
      import { startPrimaryWithReplica } from ${JSON.stringify(fileURLToPath(new URL("./replica.ts", import.meta.url)))};
      const pair = await startPrimaryWithReplica();
      const pids = [pair.dataDirs.primary, pair.dataDirs.replica].map((d) =>
        Number(readFileSync(d + "/postmaster.pid", "utf8").split("\\n")[0]),
      );
      console.log(JSON.stringify({ pids, root: pair.dataDirs.primary.replace(/\\/primary$/, "") }));
      setInterval(() => {}, 1000);`,
    );
    const child = spawn(process.execPath, ["--import", tsxLoader, script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.once("data", (d) => resolve(String(d)));
        child.once("exit", (code) => reject(new Error(`the child exited with ${code}`)));
      });
      const { pids, root } = JSON.parse(line) as { pids: number[]; root: string };
      expect(pids).toHaveLength(2);
      for (const pid of pids) expect(isAlive(pid)).toBe(true);
      child.kill("SIGKILL");
      for (const pid of pids) await expect.poll(() => isAlive(pid), { timeout: 10_000 }).toBe(false);
      expect(existsSync(root)).toBe(true);
      sweepStaleReplicaDirs();
      expect(existsSync(root)).toBe(false);
    } finally {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
