import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { rmSync } from "node:fs";

/**
 * Servers a test harness started and folders it made, put away when this process exits, even
 * when a test failed before its own cleanup: the children get `signal`, the folders are removed.
 */
export function exitCleanup(signal: NodeJS.Signals) {
  const running = new Set<ChildProcess>();
  const tempDirs = new Set<string>();
  process.on("exit", () => {
    for (const child of running) {
      try {
        child.kill(signal);
      } catch {}
    }
    for (const dir of tempDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {}
    }
  });
  return { running, tempDirs };
}

/**
 * One server process a harness can start again and again: the current child, whether it is
 * alive, a promise of its exit, and the tail of what it printed. Every child is tracked in
 * `running` so exitCleanup can put it away.
 */
export class Supervised {
  child: ChildProcess | undefined;
  alive = false;
  exited: Promise<void> = Promise.resolve();
  output = "";

  constructor(
    private readonly running: Set<ChildProcess>,
    private readonly keepBytes: number,
  ) {}

  spawn(argv: string[], options: SpawnOptions = {}): ChildProcess {
    this.output = "";
    const c = spawn(argv[0] ?? "", argv.slice(1), { ...options, stdio: ["ignore", "pipe", "pipe"] });
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-this.keepBytes);
    };
    c.stdout?.on("data", keep);
    c.stderr?.on("data", keep);
    this.child = c;
    this.alive = true;
    this.running.add(c);
    this.exited = new Promise<void>((resolve) => {
      const gone = () => {
        this.alive = false;
        this.running.delete(c);
        resolve();
      };
      c.once("exit", gone);
      c.once("error", (err) => {
        this.output += `\n${err.message}`;
        gone();
      });
    });
    return c;
  }
}

/** Whether a process exists (one owned by another user counts). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
