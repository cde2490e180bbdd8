import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "./paths.ts";
import { generatedFiles } from "./render.ts";

const files = generatedFiles();

describe("the committed generated files", () => {
  it.each(Object.keys(files))(
    "%s is what the source generates (run `pnpm --filter @canopy/dashboards build`)",
    (path) => {
      expect(readFileSync(join(packageRoot, path), "utf8")).toBe(files[path]);
    },
  );

  it("generated/ holds nothing stale that the source no longer makes", () => {
    const committed = readdirSync(join(packageRoot, "generated")).map((f) => `generated/${f}`);
    expect(committed.sort()).toEqual(
      Object.keys(files)
        .filter((p) => p.startsWith("generated/"))
        .sort(),
    );
  });
});
