import { readFileSync } from "node:fs";

/** The instructions of a Dockerfile, stage by stage (continuations joined, comments dropped). */
export type Instruction = { op: string; args: string };
export type Stage = { name: string; instructions: Instruction[] };

export function parseDockerfile(path: string): Stage[] {
  const lines = readFileSync(path, "utf8")
    .replaceAll(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [op = "", ...rest] = line.split(/\s+/);
    const args = rest.join(" ");
    if (op.toUpperCase() === "FROM") {
      stages.push({ name: args.split(/\s+AS\s+/i)[1] ?? String(stages.length), instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

/** COPY's sources and destination, and its --from stage if any. */
export function copyArgs(args: string) {
  const words = args.split(/\s+/);
  const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length);
  const paths = words.filter((w) => !w.startsWith("--"));
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1) as string };
}
