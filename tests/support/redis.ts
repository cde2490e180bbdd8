import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exitCleanup, Supervised } from "./exit-cleanup.ts";

/**
 * Redis servers of a test's own, for cache fault tests: each on a free loopback port with a temporary
 * folder, spawned as a child of the test process (never the shared one on 6379). Every server is tracked
 * and killed when the process exits, and (through `setpriv --pdeathsig`) when it dies of a signal.
 */

export type RedisServer = {
  /** `redis://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** SIGTERM, then waits for the exit (SIGKILL after 10 s). Resumes a paused server first. */
  stop: () => Promise<void>;
  /** Starts it again on the same port, empty. */
  start: () => Promise<void>;
  /** SIGSTOP: connections are accepted by the kernel but commands get no answer. */
  pause: () => void;
  /** SIGCONT */
  resume: () => void;
  /** SIGKILL, as in a crash; resolves when it has exited. */
  kill: () => Promise<void>;
  /** One command over a fresh connection (for set-up and checks, not for the code under test). */
  command: (...args: string[]) => Promise<RespValue>;
  /** What the server printed (its log), for failure messages. */
  output: () => string;
};

export type RedisCluster = {
  /** `127.0.0.1:p1,127.0.0.1:p2,...` */
  nodes: string;
  ports: number[];
  /** The nodes one by one, e.g. to pause or kill one master. */
  servers: RedisServer[];
  stop: () => Promise<void>;
};

export type RespValue = string | number | null | RespValue[];

const stopTimeoutMs = 10_000;
const readyTimeoutMs = 10_000;

const { running, tempDirs } = exitCleanup("SIGKILL");
const servers = new Set<RedisServer>();
const clusters = new Set<RedisCluster>();

/** Stops every Redis server and cluster this process started (for afterAll hooks). */
export async function stopAllRedis(): Promise<void> {
  await Promise.all([...clusters].map((c) => c.stop()));
  await Promise.all([...servers].map((s) => s.stop()));
}

/** `n` distinct free loopback ports, all held open until all are chosen. */
export async function freePorts(n: number): Promise<number[]> {
  const held: Server[] = [];
  try {
    const ports: number[] = [];
    while (ports.length < n) {
      const server = createServer();
      held.push(server);
      const port = await new Promise<number>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
          const address = server.address();
          typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"));
        });
      });
      ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
}

/** Wraps a long-running command so that it dies with this process, even one killed by a signal. */
export function dieWithParent(args: string[], signal: NodeJS.Signals = "SIGKILL"): string[] {
  return process.platform === "linux" ? ["setpriv", `--pdeathsig=${signal}`, "--", ...args] : args;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Parses one RESP reply from `buf` at `at`: the value and where it ends, or undefined if incomplete. */
function parseResp(buf: Buffer, at: number): { value: RespValue; end: number } | undefined {
  const eol = buf.indexOf("\r\n", at);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[at] ?? 0);
  const line = buf.toString("utf8", at + 1, eol);
  switch (type) {
    case "+":
      return { value: line, end: eol + 2 };
    case "-":
      throw new Error(`redis error: ${line}`);
    case ":":
      return { value: Number(line), end: eol + 2 };
    case "$": {
      const len = Number(line);
      if (len < 0) return { value: null, end: eol + 2 };
      if (buf.length < eol + 2 + len + 2) return undefined;
      return { value: buf.toString("utf8", eol + 2, eol + 2 + len), end: eol + 2 + len + 2 };
    }
    case "*": {
      const len = Number(line);
      if (len < 0) return { value: null, end: eol + 2 };
      const items: RespValue[] = [];
      let end = eol + 2;
      for (let i = 0; i < len; i++) {
        const item = parseResp(buf, end);
        if (!item) return undefined;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new Error(`unexpected RESP reply: ${buf.toString("utf8", at)}`);
  }
}

/** Sends one command to 127.0.0.1:port over a fresh connection and returns the reply. */
export function redisCommand(port: number, args: string[], timeoutMs = 2_000): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    const done = (err: Error | undefined, value?: RespValue) => {
      socket.destroy();
      err ? reject(err) : resolve(value ?? null);
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`redis :${port} ${args[0]} timed out`)));
    socket.on("error", (err) => done(err));
    socket.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        const reply = parseResp(buf, 0);
        if (reply) done(undefined, reply.value);
      } catch (err) {
        done(err as Error);
      }
    });
    socket.on("connect", () => {
      const parts = [`*${args.length}\r\n`];
      for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
      socket.write(parts.join(""));
    });
  });
}

type ServerOptions = {
  port: number;
  dir: string;
  extraArgs?: string[];
  /** Remove the folder whenever the server has stopped (not for cluster nodes, whose nodes.conf must stay). */
  removeDirOnStop?: boolean;
};

function makeServer({ port, dir, extraArgs = [], removeDirOnStop = false }: ServerOptions): RedisServer {
  const proc = new Supervised(running, 32_000);
  const isRunning = () => proc.child !== undefined && proc.alive;

  const launch = () => {
    // Empty on every start: nothing is saved, and a dump.rdb, should there be one, goes (a cluster node's
    // nodes.conf, its identity and slots, stays, so that it rejoins).
    mkdirSync(dir, { recursive: true });
    rmSync(join(dir, "dump.rdb"), { force: true });
    const args = dieWithParent([
      "redis-server",
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--daemonize",
      "no",
      "--dir",
      dir,
      "--logfile",
      "",
      ...extraArgs,
    ]);
    proc.spawn(args);
  };

  const waitReady = async () => {
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (!isRunning()) throw new Error(`redis-server on ${port} exited:\n${proc.output}`);
      const pong = await redisCommand(port, ["PING"], 500).catch(() => undefined);
      if (pong === "PONG") return;
      if (Date.now() > deadline)
        throw new Error(`redis-server on ${port} did not answer PING:\n${proc.output}`);
      await sleep(20);
    }
  };

  const stopped = async () => {
    await proc.exited;
    servers.delete(server);
    if (removeDirOnStop) removeDir(dir);
  };

  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    output: () => proc.output,
    command: (...args) => redisCommand(port, args),
    start: async () => {
      if (isRunning()) throw new Error(`redis-server on ${port} is already running`);
      await proc.exited;
      servers.add(server);
      tempDirs.add(dir);
      launch();
      try {
        await waitReady();
      } catch (err) {
        await server.kill();
        throw err;
      }
    },
    stop: async () => {
      const c = proc.child;
      if (c && isRunning()) {
        c.kill("SIGTERM");
        c.kill("SIGCONT"); // a paused server handles SIGTERM only once resumed
        const timer = setTimeout(() => c.kill("SIGKILL"), stopTimeoutMs);
        await proc.exited;
        clearTimeout(timer);
      }
      await stopped();
    },
    kill: async () => {
      if (proc.child && isRunning()) proc.child.kill("SIGKILL");
      await stopped();
    },
    pause: () => {
      if (!proc.child || !isRunning()) throw new Error(`redis-server on ${port} is not running`);
      proc.child.kill("SIGSTOP");
    },
    resume: () => {
      if (!proc.child || !isRunning()) throw new Error(`redis-server on ${port} is not running`);
      proc.child.kill("SIGCONT");
    },
  };
  return server;
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

function removeDir(dir: string) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Starts a Redis of the caller's own on a free loopback port and waits until it answers PING. */
export async function startRedis(): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    const dir = tempDir("canopy-redis-");
    const [port] = await freePorts(1);
    const server = makeServer({ port: port ?? 0, dir, removeDirOnStop: true });
    try {
      await server.start();
    } catch (err) {
      // Someone may have taken the port between choosing and binding it: choose again.
      if (attempt < 3 && /Address already in use/i.test(String(err))) continue;
      throw err;
    }
    return server;
  }
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) =>
      err
        ? reject(new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${stdout}${stderr}`))
        : resolve(stdout),
    );
  });
}

/**
 * Starts `masters` cluster-enabled redis-servers (no replicas), joins them with `redis-cli --cluster create`
 * and waits until every node reports `cluster_state:ok`.
 */
export async function startRedisCluster({ masters = 3 }: { masters?: number } = {}): Promise<RedisCluster> {
  if (masters < 3) throw new Error("a Redis cluster needs at least 3 masters");
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(masters);
    } catch (err) {
      // Someone may have taken a port between choosing and binding it: choose again.
      if (attempt < 3 && /Address already in use/i.test(String(err))) continue;
      throw err;
    }
  }
}

async function startClusterOnce(masters: number): Promise<RedisCluster> {
  const root = tempDir("canopy-redis-cluster-");
  // Each node gets its client port and a cluster bus port of its own (not port + 10000, which may be taken
  // or above 65535).
  const ports = await freePorts(masters * 2);
  const nodes: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    removeDir(root);
    clusters.delete(cluster);
  };
  const cluster: RedisCluster = { nodes: "", ports: [], servers: nodes, stop };
  clusters.add(cluster);
  try {
    for (let i = 0; i < masters; i++) {
      const port = ports[i] ?? 0;
      const dir = join(root, String(port));
      mkdirSync(dir);
      nodes.push(
        makeServer({
          port,
          dir,
          extraArgs: [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            join(dir, "nodes.conf"),
            "--cluster-node-timeout",
            "2000",
            "--cluster-port",
            String(ports[masters + i]),
          ],
        }),
      );
    }
    await Promise.all(nodes.map((n) => n.start()));
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run(
      "redis-cli",
      ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"],
      30_000,
    );
    const deadline = Date.now() + 20_000;
    for (const node of nodes) {
      for (;;) {
        const info = await node.command("CLUSTER", "INFO").catch((err: Error) => err.message);
        if (typeof info === "string" && info.includes("cluster_state:ok")) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${node.port} is not ok:\n${String(info)}`);
        await sleep(50);
      }
    }
    return Object.assign(cluster, { nodes: addresses.join(","), ports: nodes.map((n) => n.port) });
  } catch (err) {
    await stop();
    throw err;
  }
}
