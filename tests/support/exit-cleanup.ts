import type { ChildProcess } from "node:child_process";
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
