import { describe, expect, it } from "vitest";
import { parseConfig } from "./config.ts";

const secret = "x".repeat(32);

describe("configuration", () => {
  it("defaults to the embedded database with the contract's defaults", () => {
    const parsed = parseConfig({});
    expect(parsed.ok && parsed.config).toMatchObject({
      port: 8080,
      database: { url: undefined, dataDir: "./.canopy", poolMax: 20, slowQueryMs: 100, replicaUrls: [] },
      cache: { ttlHierarchyS: 3600, ttlPermissionsS: 900, ttlQueryS: 300, stalenessBoundMs: 1000 },
      auth: { mode: "jwt" },
      logLevel: "info",
    });
  });

  it("treats empty variables as unset", () => {
    const parsed = parseConfig({ PORT: "", DATABASE_URL: "", AUTH_JWT_SECRET: "" });
    expect(parsed.ok && parsed.config.port).toBe(8080);
  });

  it("lists every problem at once", () => {
    const parsed = parseConfig({
      PORT: "eighty",
      AUTH_JWT_SECRET: "short",
      AUTH_MODE: "none",
      NODE_ENV: "production",
      DATABASE_REPLICA_URLS: "mysql://x",
    });
    expect(parsed.ok).toBe(false);
    const problems = parsed.ok ? [] : parsed.problems;
    expect(problems.some((p) => p.startsWith("PORT"))).toBe(true);
    expect(problems.some((p) => p.startsWith("DATABASE_REPLICA_URLS"))).toBe(true);
    expect(problems).toContain("AUTH_JWT_SECRET: must be at least 32 bytes");
    expect(problems).toContain("AUTH_MODE: AUTH_MODE=none is refused when NODE_ENV=production");
  });

  it("needs a way to verify tokens against a real database", () => {
    const parsed = parseConfig({ DATABASE_URL: "postgres://h/db" });
    expect(parsed.ok ? [] : parsed.problems).toContain(
      "AUTH_JWT_SECRET: AUTH_MODE=jwt needs AUTH_JWT_SECRET or AUTH_JWKS_URL",
    );
    expect(parseConfig({ DATABASE_URL: "postgres://h/db", AUTH_JWT_SECRET: secret }).ok).toBe(true);
  });

  it("needs a shared cursor secret when tokens come from a JWKS", () => {
    const jwks = { DATABASE_URL: "postgres://h/db", AUTH_JWKS_URL: "https://keys.example/jwks.json" };
    expect(parseConfig(jwks).ok).toBe(false);
    expect(parseConfig({ ...jwks, CURSOR_SECRET: secret }).ok).toBe(true);
  });
});
