import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { packageRoot } from "./paths.ts";
import { generatedFiles } from "./render.ts";

/** Regenerates every file under dashboards/generated and the rule file, and drops stale ones. */
const root = packageRoot;
const files = generatedFiles();
for (const [path, content] of Object.entries(files)) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
  console.log(`wrote dashboards/${path}`);
}
for (const name of readdirSync(join(root, "generated"))) {
  if (!(`generated/${name}` in files)) {
    rmSync(join(root, "generated", name));
    console.log(`removed stale dashboards/generated/${name}`);
  }
}
