import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../support/postgres.ts";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const resultsDir = join(repoRoot, "tests", "bench", "results");
const tsxCli = createRequire(import.meta.url).resolve("tsx/cli");

const starts = new Map<string, number>();
const clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/**
 * CPU seconds (user and system, every thread) of a process and its descendants, from /proc:
 * the server's own cost per request, which the load generator sharing the machine does not blur.
 */
export function cpuSecondsOf(pid: number): number {
  let ticks = 0;
  const visit = (p: number) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime and stime, fields 14 and 15
      for (const task of readdirSync(`/proc/${p}/task`)) {
        const children = readFileSync(`/proc/${p}/task/${task}/children`, "utf8").split(" ");
        for (const child of children.filter(Boolean)) visit(Number(child));
      }
    } catch {} // exited meanwhile
  };
  visit(pid);
  return ticks / clockTicks;
}

export type Server = { name: string; url: string; pid: number; logFile: string; stop: () => Promise<void> };

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no output)";
  }
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });

/** Signals the child's whole process group (tsx runs the script in a grandchild). */
function signalGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal);
  } catch {} // already gone
}

/**
 * `tsx <script>` in a process group of its own, output to a log file (not through this
 * process, which generates the load), ready once `readyPath` answers 200.
 */
export async function startServer(
  name: string,
  script: string,
  env: Record<string, string>,
  readyPath: string,
  timeoutMs = 60_000,
): Promise<Server> {
  mkdirSync(resultsDir, { recursive: true });
  const n = (starts.get(name) ?? 0) + 1;
  starts.set(name, n);
  const logFile = join(resultsDir, n === 1 ? `${name}.log` : `${name}-${n}.log`);
  const out = openSync(logFile, "w");
  const port = await freePort();
  const child = spawn(process.execPath, [tsxCli, script], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      ...env,
      PORT: String(port),
    },
    detached: true,
    stdio: ["ignore", out, out],
  });
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: could not spawn ${script}`);
  const done = exited(child);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    signalGroup(pid, "SIGTERM");
    const hard = setTimeout(() => signalGroup(pid, "SIGKILL"), 12_000);
    await done;
    clearTimeout(hard);
    signalGroup(pid, "SIGKILL"); // the grandchild, should it outlive tsx
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail(logFile)}`,
      );
    }
    const ok = await fetch(`${url}${readyPath}`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `${name} not ready on ${url}${readyPath} after ${timeoutMs / 1000} s:\n${tail(logFile)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  console.error(`${name} ready at ${url} (pid ${pid}, log ${relative(process.cwd(), logFile)})`);
  return { name, url, pid, logFile, stop };
}
