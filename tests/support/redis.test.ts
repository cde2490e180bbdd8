import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { Cluster, Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { isAlive } from "./exit-cleanup.ts";
import { type RedisServer, redisCommand, startRedis, startRedisCluster, stopAllRedis } from "./redis.ts";

// tsx as a loader of this node process (its CLI would put a node process of its own in between).
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

const exec = promisify(execFile);

const clients: Array<Redis | Cluster> = [];
function client(url: string, options: { commandTimeout?: number } = {}) {
  const c = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false, ...options });
  c.on("error", () => {}); // reconnection noise while a server is down
  clients.push(c);
  return c;
}

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await stopAllRedis();
});

describe("startRedis", () => {
  let redis: RedisServer;

  it("starts a server of its own on a free port", async () => {
    const t0 = Date.now();
    redis = await startRedis();
    console.log(`startRedis: ${Date.now() - t0} ms`);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(redis.port).not.toBe(6379);
    const c = client(redis.url);
    expect(await c.set("greeting", "hello")).toBe("OK");
    expect(await c.get("greeting")).toBe("hello");
    expect(await redis.command("GET", "greeting")).toBe("hello");
  });

  it("pause makes commands time out, resume brings them back", async () => {
    const c = client(redis.url, { commandTimeout: 300 });
    expect(await c.ping()).toBe("PONG");
    redis.pause();
    try {
      const t0 = Date.now();
      await expect(c.get("greeting")).rejects.toThrow(/timed out/i);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      await expect(redisCommand(redis.port, ["PING"], 300)).rejects.toThrow(/timed out/);
    } finally {
      redis.resume();
    }
    expect(await c.get("greeting")).toBe("hello");
    expect(await client(redis.url).get("greeting")).toBe("hello");
  });

  it("stop then start comes back on the same port, empty", async () => {
    const c = client(redis.url);
    await c.set("before-restart", "1");
    const t0 = Date.now();
    await redis.stop();
    await expect(redis.command("PING")).rejects.toThrow(/ECONNREFUSED/);
    await redis.start();
    console.log(`restart: ${Date.now() - t0} ms`);
    const fresh = client(redis.url);
    expect(await fresh.get("before-restart")).toBeNull();
    expect(await fresh.dbsize()).toBe(0);
    // A client that was connected before reconnects on its own.
    await expect.poll(() => c.ping().catch(() => "down"), { timeout: 5_000 }).toBe("PONG");
  });

  it("stop works on a paused server", async () => {
    redis.pause();
    await redis.stop();
    await expect(redis.command("PING")).rejects.toThrow(/ECONNREFUSED/);
    await redis.start();
    expect(await redis.command("PING")).toBe("PONG");
  });

  it("kill ends the process at once, and it can start again", async () => {
    await redis.kill();
    await expect(redis.command("PING")).rejects.toThrow(/ECONNREFUSED/);
    await redis.start();
    expect(await redis.command("PING")).toBe("PONG");
  });

  it("stopAllRedis stops every server this process started", async () => {
    const a = await startRedis();
    const b = await startRedis();
    expect(a.port).not.toBe(b.port);
    await stopAllRedis();
    for (const s of [a, b, redis]) await expect(s.command("PING")).rejects.toThrow(/ECONNREFUSED/);
  });

  it("dies with the process that started it, even one killed by a signal", async () => {
    // A child process starts a server, prints its port and pid, and is killed with SIGKILL.
    const dir = mkdtempSync(join(tmpdir(), "canopy-redis-test-"));
    const script = join(dir, "start.mts");
    writeFileSync(
      script,
      `import { startRedis } from ${JSON.stringify(fileURLToPath(new URL("./redis.ts", import.meta.url)))};
      const r = await startRedis();
      const info = String(await r.command("INFO", "server"));
      console.log(JSON.stringify({ port: r.port, pid: Number(/process_id:(\\d+)/.exec(info)?.[1]) }));
      setInterval(() => {}, 1000);`,
    );
    const child = spawn(process.execPath, ["--import", tsxLoader, script], {
      env: { ...process.env, TMPDIR: dir }, // so that the server's folder goes with this one
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.once("data", (d) => resolve(String(d)));
        child.once("exit", (code) => reject(new Error(`the child exited with ${code}`)));
      });
      const { port, pid } = JSON.parse(line) as { port: number; pid: number };
      expect(isAlive(pid)).toBe(true);
      expect(await redisCommand(port, ["PING"])).toBe("PONG");
      child.kill("SIGKILL");
      await expect.poll(() => isAlive(pid), { timeout: 5_000 }).toBe(false);
    } finally {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("startRedisCluster", () => {
  it("serves keys across slots on every master", async () => {
    const t0 = Date.now();
    const cluster = await startRedisCluster({ masters: 3 });
    console.log(`startRedisCluster(3): ${Date.now() - t0} ms`);
    try {
      expect(cluster.ports).toHaveLength(3);
      expect(cluster.nodes).toBe(cluster.ports.map((p) => `127.0.0.1:${p}`).join(","));

      const c = new Cluster(
        cluster.nodes.split(",").map((hp) => {
          const [host, port] = hp.split(":");
          return { host: host ?? "", port: Number(port) };
        }),
      );
      clients.push(c);
      const keys = Array.from({ length: 30 }, (_, i) => `key:${i}`);
      for (const k of keys) await c.set(k, `value of ${k}`);
      for (const k of keys) expect(await c.get(k)).toBe(`value of ${k}`);

      // The keys landed on every master, not on one.
      const sizes = await Promise.all(cluster.servers.map((s) => s.command("DBSIZE")));
      for (const size of sizes) expect(size).toBeGreaterThan(0);
      expect(sizes.reduce<number>((a, b) => a + Number(b), 0)).toBe(keys.length);

      // redis-cli -c follows MOVED redirects from any node.
      const first = cluster.ports[0] ?? 0;
      await exec("redis-cli", ["-c", "-p", String(first), "SET", "{other}:k", "v"]);
      const { stdout } = await exec("redis-cli", ["-c", "-p", String(cluster.ports[2]), "GET", "{other}:k"]);
      expect(stdout.trim()).toBe("v");
    } finally {
      await cluster.stop();
    }
    for (const p of cluster.ports) await expect(redisCommand(p, ["PING"])).rejects.toThrow(/ECONNREFUSED/);
  });
});
