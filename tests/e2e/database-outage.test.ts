import {
  createApp,
  createLogger,
  migrationsFolder,
  openPostgres,
  parseConfig,
  startServices,
} from "@canopy/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testSecret, tokens } from "../support/app.ts";
import { startThrowawayPostgres, type ThrowawayPostgres } from "../support/postgres.ts";

describe("when the primary database goes away", () => {
  let server: ThrowawayPostgres;
  let app: ReturnType<typeof createApp>;
  let close: () => Promise<void>;
  let token: string;
  const get = (path: string) => app.request(path, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    server = await startThrowawayPostgres();
    const db = openPostgres({ url: server.url, poolMax: 2 }, () => {});
    await db.migrate(migrationsFolder);
    await db.close();
    const parsed = parseConfig({
      DATABASE_URL: server.url,
      AUTH_JWT_SECRET: testSecret,
      LOG_LEVEL: "silent",
    });
    if (!parsed.ok) throw new Error(parsed.problems.join("; "));
    const started = await startServices(parsed.config, createLogger("silent"));
    app = createApp(started.services);
    close = started.close;
    token = (await tokens()).admin;
  });
  afterAll(async () => {
    await close();
    server.stop();
  });

  it("answers 503 problems without internals, readyz turns 503, healthz stays up, and it recovers on its own", async () => {
    expect((await get("/v1/structures")).status).toBe(200);
    server.stop();

    const down = await get("/v1/structures");
    expect(down.status).toBe(503);
    expect(down.headers.get("content-type")).toBe("application/problem+json");
    const text = await down.text();
    expect(JSON.parse(text)).toMatchObject({ status: 503, title: "Service Unavailable" });
    expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|terminat|stack|SELECT/i);
    expect((await app.request("/readyz")).status).toBe(503);
    expect((await app.request("/healthz")).status).toBe(200);

    server.start();
    expect((await get("/v1/structures")).status).toBe(200);
    expect((await app.request("/readyz")).status).toBe(200);
  });
});
