import { parseConfig } from "@canopy/api";
import { type JWTPayload, SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type Answer, buildTree, startTestApp, type TestApp, testSecret } from "../support/app.ts";
import { type JwksServer, type SigningKey, signingKey, signWith, startJwksServer } from "../support/jwks.ts";

const encoder = new TextEncoder();
const nowSeconds = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** An HS256 token (or another HMAC algorithm) over the given claims; 1 h of validity unless they say. */
function hmacToken(
  claims: JWTPayload = {},
  options: { secret?: string | Uint8Array; alg?: string; header?: Record<string, unknown> } = {},
): Promise<string> {
  const now = nowSeconds();
  const secret = options.secret ?? testSecret;
  return new SignJWT({ scope: "canopy:admin", sub: "auth-test", iat: now, exp: now + 3600, ...claims })
    .setProtectedHeader({ alg: options.alg ?? "HS256", typ: "JWT", ...options.header })
    .sign(typeof secret === "string" ? encoder.encode(secret) : secret);
}

/** An unsigned token: `alg: none` with an empty signature. */
const unsignedToken = (claims: JWTPayload = {}) =>
  `${b64({ alg: "none", typ: "JWT" })}.${b64({ scope: "canopy:admin", sub: "mallory", exp: nowSeconds() + 3600, ...claims })}.`;

const bearer = (token: string) => ({ token: null, headers: { authorization: `Bearer ${token}` } });

function expectUnauthorized(res: Answer) {
  expect(res.status).toBe(401);
  expect(res.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status: 401, title: expect.any(String), detail: expect.any(String) });
}

function expectForbidden(res: Answer) {
  expect(res.status).toBe(403);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status: 403, title: expect.any(String), detail: expect.any(String) });
}

describe("configuration validation (parseConfig)", () => {
  const base = { DATABASE_URL: "postgres://canopy@127.0.0.1:5432/canopy", LOG_LEVEL: "silent" };
  const problemsOf = (env: Record<string, string>) => {
    const parsed = parseConfig(env);
    return parsed.ok ? [] : parsed.problems;
  };

  it("refuses an AUTH_JWT_SECRET under 32 bytes", () => {
    for (const secret of ["short", "x".repeat(31), `${"é".repeat(15)}a`]) {
      const problems = problemsOf({ ...base, AUTH_JWT_SECRET: secret });
      expect(problems, JSON.stringify(secret)).toHaveLength(1);
      expect(problems[0]).toMatch(/AUTH_JWT_SECRET/);
    }
  });

  it("accepts an AUTH_JWT_SECRET of 32 bytes, counting bytes rather than characters", () => {
    expect(parseConfig({ ...base, AUTH_JWT_SECRET: "x".repeat(32) }).ok).toBe(true);
    expect(parseConfig({ ...base, AUTH_JWT_SECRET: "é".repeat(16) }).ok).toBe(true);
  });

  it("refuses AUTH_MODE=none when NODE_ENV=production, and allows it otherwise", () => {
    const problems = problemsOf({ ...base, AUTH_MODE: "none", NODE_ENV: "production" });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/AUTH_MODE/);
    expect(parseConfig({ ...base, AUTH_MODE: "none", NODE_ENV: "development" }).ok).toBe(true);
  });

  it("lists every problem at once: two bad variables give two problems", () => {
    const cases: [Record<string, string>, RegExp[]][] = [
      [
        { AUTH_JWT_SECRET: "short", AUTH_MODE: "none", NODE_ENV: "production" },
        [/AUTH_JWT_SECRET/, /AUTH_MODE/],
      ],
      [{ AUTH_JWT_SECRET: "short", PORT: "abc" }, [/AUTH_JWT_SECRET/, /PORT/]],
      [{ AUTH_JWT_SECRET: "x".repeat(40), PORT: "abc", LOG_LEVEL: "loud" }, [/PORT/, /LOG_LEVEL/]],
      [{ AUTH_JWT_SECRET: "short", DATABASE_URL: "mysql://db/canopy" }, [/AUTH_JWT_SECRET/, /DATABASE_URL/]],
    ];
    for (const [env, expected] of cases) {
      const problems = problemsOf({ ...base, LOG_LEVEL: "silent", ...env });
      expect(problems, JSON.stringify(env)).toHaveLength(expected.length);
      for (const pattern of expected)
        expect(
          problems.some((p) => pattern.test(p)),
          `${pattern} in ${problems}`,
        ).toBe(true);
    }
  });

  it("treats an empty AUTH_JWT_SECRET as unset, so a JWKS URL alone configures verification", () => {
    const parsed = parseConfig({
      ...base,
      AUTH_JWT_SECRET: "",
      AUTH_JWKS_URL: "http://127.0.0.1:9/.well-known/jwks.json",
      CURSOR_SECRET: "c".repeat(40),
    });
    expect(parsed.ok).toBe(true);
  });

  it("refuses a deployment on Postgres that says nothing about how tokens verify", () => {
    expect(problemsOf({ ...base }).some((p) => /AUTH_JWT_SECRET|AUTH_JWKS_URL/.test(p))).toBe(true);
  });
});

describe("authentication with an HS256 secret", () => {
  let api: TestApp;
  let ids: Record<string, string>;
  let userId: string;

  beforeAll(async () => {
    api = await startTestApp("postgres");
    ids = await buildTree(api, { root: null, leaf: "root" });
    userId = (await api.post("/v1/users", { email: "auth@x.test", name: "A", structureId: ids.root })).body
      .id;
  });
  afterAll(() => api?.close());
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a request without Authorization is 401 with WWW-Authenticate: Bearer, on reads, writes and checks", async () => {
    expectUnauthorized(await api.get("/v1/structures", { token: null }));
    expectUnauthorized(await api.post("/v1/structures", { name: "x" }, { token: null }));
    expectUnauthorized(
      await api.get(`/v1/check?userId=${userId}&structureId=${ids.root}&action=read`, { token: null }),
    );
    expectUnauthorized(
      await api.post(
        "/v1/check/batch",
        { checks: [{ userId, structureId: ids.root, action: "read" }] },
        { token: null },
      ),
    );
    expectUnauthorized(await api.delete(`/v1/structures/${ids.leaf}`, { token: null }));
  });

  it.each([
    ["a Basic scheme", () => "Basic YWRtaW46YWRtaW4="],
    ["Bearer without a token", () => "Bearer"],
    ["Bearer and a blank", () => "Bearer "],
    ["a token without a scheme", () => api.tokens.admin],
    ["another scheme carrying a valid token", () => `Token ${api.tokens.admin}`],
    ["a valid token followed by another word", () => `Bearer ${api.tokens.admin} extra`],
    ["two tokens separated by a comma", () => `Bearer ${api.tokens.admin},${api.tokens.admin}`],
    ["a token that is not a JWT", () => "Bearer not-a-jwt"],
    ["three segments of garbage", () => "Bearer abc.def.ghi"],
    ["an empty header", () => ""],
  ])("a malformed Authorization header (%s) is 401", async (_what, header) => {
    const res = await api.get("/v1/structures", { token: null, headers: { authorization: header() } });
    expectUnauthorized(res);
  });

  it.each(["bearer", "BEARER", "BeArEr", "Bearer"])(
    "the scheme is accepted in any letter case: %s",
    async (scheme) => {
      const res = await api.get("/v1/structures", {
        token: null,
        headers: { authorization: `${scheme} ${api.tokens.read}` },
      });
      expect(res.status).toBe(200);
    },
  );

  it("a token that expired more than 30 s ago is 401", async () => {
    const token = await hmacToken({ exp: nowSeconds() - 45 });
    expectUnauthorized(await api.get("/v1/structures", bearer(token)));
  });

  it("a token that expired 20 s ago is accepted (30 s of clock leeway)", async () => {
    const token = await hmacToken({ exp: nowSeconds() - 20, iat: nowSeconds() - 600 });
    expect((await api.get("/v1/structures", bearer(token))).status).toBe(200);
  });

  it("a token accepted within the leeway is refused once the leeway has passed, although it was verified before", async () => {
    const token = await hmacToken({ exp: nowSeconds() - 20, iat: nowSeconds() - 600 });
    expect((await api.get("/v1/structures", bearer(token))).status).toBe(200);
    const now = Date.now();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(now + 20_000);
    expectUnauthorized(await api.get("/v1/structures", bearer(token)));
  });

  it("a token not valid before 45 s from now is 401; one valid 20 s from now is accepted", async () => {
    expectUnauthorized(await api.get("/v1/structures", bearer(await hmacToken({ nbf: nowSeconds() + 45 }))));
    expect(
      (await api.get("/v1/structures", bearer(await hmacToken({ nbf: nowSeconds() + 20 })))).status,
    ).toBe(200);
  });

  it("a token signed with another secret is 401", async () => {
    const token = await hmacToken({}, { secret: "another-secret-0123456789abcdef0123456789" });
    expectUnauthorized(await api.get("/v1/structures", bearer(token)));
  });

  it("a token whose payload was altered after signing is 401", async () => {
    const [header, , signature] = (await hmacToken({ scope: "canopy:read" })).split(".");
    const forged = `${header}.${b64({ scope: "canopy:admin", sub: "auth-test", exp: nowSeconds() + 3600 })}.${signature}`;
    expectUnauthorized(await api.post("/v1/structures", { name: "x" }, bearer(forged)));
  });

  it("an alg: none token is 401, with or without a signature part", async () => {
    expectUnauthorized(await api.get("/v1/structures", bearer(unsignedToken())));
    expectUnauthorized(await api.get("/v1/structures", bearer(`${unsignedToken()}c2lnbmF0dXJl`)));
    const noneUpper = `${b64({ alg: "NONE", typ: "JWT" })}.${b64({ scope: "canopy:admin", exp: nowSeconds() + 60 })}.`;
    expectUnauthorized(await api.get("/v1/structures", bearer(noneUpper)));
  });

  it("the algorithm comes from the configuration: HS384 and HS512 tokens signed with the right secret are 401", async () => {
    for (const alg of ["HS384", "HS512"]) {
      const token = await hmacToken({}, { alg });
      expectUnauthorized(await api.get("/v1/structures", bearer(token)));
    }
  });

  it("an RS256 or ES256 token is 401 when the server verifies HS256", async () => {
    for (const alg of ["RS256", "ES256"] as const) {
      const key = await signingKey(alg, `stray-${alg}`);
      const token = await signWith(key, { scope: "canopy:admin" });
      expectUnauthorized(await api.get("/v1/structures", bearer(token)));
    }
  });

  it("a token signed with another secret is 401 even on a route the scope would not allow (401 before 403)", async () => {
    const token = await hmacToken(
      { scope: "profile" },
      { secret: "another-secret-0123456789abcdef0123456789" },
    );
    expectUnauthorized(await api.post("/v1/structures", { name: "x" }, bearer(token)));
  });

  describe("scopes", () => {
    type Route = {
      label: string;
      needs: "read" | "write";
      call: (options: object) => Promise<Answer>;
      ok: number;
    };
    const routes: Route[] = [
      { label: "GET /v1/structures", needs: "read", call: (o) => api.get("/v1/structures", o), ok: 200 },
      { label: "GET /v1/users/{id}", needs: "read", call: (o) => api.get(`/v1/users/${userId}`, o), ok: 200 },
      {
        label: "GET /v1/check",
        needs: "read",
        call: (o) => api.get(`/v1/check?userId=${userId}&structureId=${ids.leaf}&action=read`, o),
        ok: 200,
      },
      {
        label: "POST /v1/check/batch",
        needs: "read",
        call: (o) =>
          api.post("/v1/check/batch", { checks: [{ userId, structureId: ids.leaf, action: "manage" }] }, o),
        ok: 200,
      },
      {
        label: "POST /v1/structures",
        needs: "write",
        call: (o) => api.post("/v1/structures", { name: "s" }, o),
        ok: 201,
      },
      {
        label: "PATCH /v1/structures/{id}",
        needs: "write",
        call: (o) => api.patch(`/v1/structures/${ids.leaf}`, { name: "leaf" }, o),
        ok: 200,
      },
      {
        label: "DELETE /v1/permissions/{id} (unknown: 404 once allowed)",
        needs: "write",
        call: (o) => api.delete("/v1/permissions/999999", o),
        ok: 404,
      },
    ];
    const holders: [string, string, ("read" | "write")[]][] = [
      ["profile only", "profile", []],
      ["no scope claim at all", "", []],
      ["canopy:read", "canopy:read", ["read"]],
      ["canopy:write (implies read)", "canopy:write", ["read", "write"]],
      ["canopy:admin (implies both)", "canopy:admin", ["read", "write"]],
      ["openid canopy:read profile", "openid canopy:read profile", ["read"]],
      ["canopy:read canopy:write", "canopy:read canopy:write", ["read", "write"]],
      ["CANOPY:ADMIN (scopes are case-sensitive)", "CANOPY:ADMIN", []],
      ["canopy:readwrite (no prefix matching)", "canopy:readwrite", []],
      ["canopy:read,canopy:write (not space-separated)", "canopy:read,canopy:write", []],
    ];
    const matrix = holders.flatMap(([who, scope, grants]) =>
      routes.map((route) => ({ who, scope, grants, route, label: route.label })),
    );

    it.each(matrix)("a token with $who on $label", async ({ scope, grants, route }) => {
      const claims: JWTPayload = scope === "" ? { scope: undefined } : { scope };
      const res = await route.call(bearer(await hmacToken(claims)));
      if (grants.includes(route.needs)) expect(res.status).toBe(route.ok);
      else expectForbidden(res);
    });

    it("the harness tokens: profile-only is 403 everywhere; read is 403 on writes but 200 on the batch check", async () => {
      const none = { token: api.tokens.none };
      expectForbidden(await api.get("/v1/structures", none));
      expectForbidden(
        await api.post(
          "/v1/check/batch",
          { checks: [{ userId, structureId: ids.leaf, action: "read" }] },
          none,
        ),
      );
      const reader = { token: api.tokens.read };
      expectForbidden(await api.post("/v1/structures", { name: "x" }, reader));
      expectForbidden(await api.patch(`/v1/structures/${ids.leaf}`, { name: "x" }, reader));
      expectForbidden(await api.delete(`/v1/structures/${ids.leaf}`, reader));
      const batch = await api.post(
        "/v1/check/batch",
        { checks: [{ userId, structureId: ids.leaf, action: "read" }] },
        reader,
      );
      expect(batch.status).toBe(200);
      expect((await api.get("/v1/structures", { token: api.tokens.write })).status).toBe(200);
    });
  });

  it("iss and aud are not required when AUTH_ISSUER and AUTH_AUDIENCE are unset", async () => {
    const token = await hmacToken({ iss: "https://anyone.test", aud: "anything" });
    expect((await api.get("/v1/structures", bearer(token))).status).toBe(200);
  });

  it.each(["/healthz", "/readyz", "/metrics", "/openapi.json"])(
    "%s needs no token, and ignores a bad one",
    async (path) => {
      expect((await api.get(path, { token: null })).status).toBe(200);
      expect(
        (await api.get(path, { token: null, headers: { authorization: "Bearer garbage" } })).status,
      ).toBe(200);
    },
  );
});

describe("authentication with AUTH_ISSUER and AUTH_AUDIENCE set", () => {
  const issuer = "https://issuer.canopy.test";
  const audience = "canopy-api";
  let api: TestApp;
  beforeAll(async () => {
    api = await startTestApp("postgres", { AUTH_ISSUER: issuer, AUTH_AUDIENCE: audience });
  });
  afterAll(() => api?.close());

  it.each([
    ["neither iss nor aud", {}],
    ["no iss", { aud: audience }],
    ["no aud", { iss: issuer }],
    ["another issuer", { iss: "https://evil.test", aud: audience }],
    ["the issuer with a trailing slash", { iss: `${issuer}/`, aud: audience }],
    ["another audience", { iss: issuer, aud: "other-api" }],
    ["an audience list without ours", { iss: issuer, aud: ["a", "b"] }],
  ])("a token with %s is 401", async (_what, claims: JWTPayload) => {
    expectUnauthorized(await api.get("/v1/structures", bearer(await hmacToken(claims))));
  });

  it("the harness tokens, which carry no iss or aud, are 401", async () => {
    expectUnauthorized(await api.get("/v1/structures"));
  });

  it("a token with the right iss and aud, or aud as a list that includes ours, is accepted", async () => {
    expect(
      (await api.get("/v1/structures", bearer(await hmacToken({ iss: issuer, aud: audience })))).status,
    ).toBe(200);
    const listed = await hmacToken({ iss: issuer, aud: ["other-api", audience] });
    expect((await api.get("/v1/structures", bearer(listed))).status).toBe(200);
  });
});

describe("authentication against a JWKS", () => {
  let jwks: JwksServer;
  let api: TestApp;
  let rsa: SigningKey;
  let ec: SigningKey;
  let rsa512: SigningKey;

  beforeAll(async () => {
    rsa = await signingKey("RS256", "rsa-1");
    ec = await signingKey("ES256", "ec-1");
    rsa512 = await signingKey("RS512", "rsa-512");
    jwks = await startJwksServer([rsa, ec, rsa512]);
    api = await startTestApp("postgres", {
      AUTH_JWT_SECRET: "",
      AUTH_JWKS_URL: jwks.url,
      CURSOR_SECRET: "cursor-secret-for-the-jwks-tests-0123456789",
    });
  });
  afterAll(async () => {
    await api?.close();
    await jwks?.close();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Moves the clock forward (Date only; timers and I/O stay real), as if that much time had passed. */
  function advanceClock(ms: number) {
    const now = Date.now();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(now + ms);
  }

  it("RS256 and ES256 tokens signed by published keys are accepted, from one fetch of the key set", async () => {
    const before = jwks.fetches;
    expect(
      (await api.get("/v1/structures", bearer(await signWith(rsa, { scope: "canopy:read" })))).status,
    ).toBe(200);
    expect(
      (await api.get("/v1/structures", bearer(await signWith(ec, { scope: "canopy:read" })))).status,
    ).toBe(200);
    expect(
      (
        await api.post(
          "/v1/structures",
          { name: "by-ec" },
          bearer(await signWith(ec, { scope: "canopy:write" })),
        )
      ).status,
    ).toBe(201);
    expect(jwks.fetches - before).toBeLessThanOrEqual(1);
    expect(jwks.fetches).toBeGreaterThanOrEqual(1);
  });

  it("scopes apply as with a secret: a read token on a write is 403", async () => {
    const token = await signWith(rsa, { scope: "canopy:read" });
    expectForbidden(await api.post("/v1/structures", { name: "x" }, bearer(token)));
  });

  it("an HS256 token is 401: signed with the harness secret, or with the public key as the HMAC secret", async () => {
    expectUnauthorized(await api.get("/v1/structures"));
    const confused = await hmacToken({}, { secret: JSON.stringify(rsa.jwk), header: { kid: rsa.kid } });
    expectUnauthorized(await api.get("/v1/structures", bearer(confused)));
    const confusedN = await hmacToken({}, { secret: String(rsa.jwk.n), header: { kid: rsa.kid } });
    expectUnauthorized(await api.get("/v1/structures", bearer(confusedN)));
  });

  it("an alg: none token naming a published kid is 401", async () => {
    const token = `${b64({ alg: "none", typ: "JWT", kid: rsa.kid })}.${b64({ scope: "canopy:admin", exp: nowSeconds() + 60 })}.`;
    expectUnauthorized(await api.get("/v1/structures", bearer(token)));
  });

  it("an RS512 token from a published RSA key is 401: only RS256 and ES256 are configured", async () => {
    const token = await signWith(rsa512, { scope: "canopy:admin" });
    expectUnauthorized(await api.get("/v1/structures", bearer(token)));
  });

  it("a token that carries its own key in a jwk header, under an unpublished kid, is 401", async () => {
    const mallory = await signingKey("RS256", "mallory");
    const token = await signWith(mallory, { scope: "canopy:admin" }, { jwk: mallory.jwk });
    expectUnauthorized(await api.get("/v1/structures", bearer(token)));
  });

  it("an expired RS256 token is 401", async () => {
    const token = await signWith(rsa, { scope: "canopy:admin", exp: nowSeconds() - 45 });
    expectUnauthorized(await api.get("/v1/structures", bearer(token)));
  });

  it("an unknown kid refetches the key set, at most once every 30 s, so a rotated key works without a restart", async () => {
    // Prime the cache, then let the 30 s cooldown of that fetch pass.
    expect(
      (await api.get("/v1/structures", bearer(await signWith(rsa, { scope: "canopy:read" })))).status,
    ).toBe(200);
    advanceClock(31_000);

    // Rotation: the provider retires rsa-1 and publishes rsa-2.
    const rotated = await signingKey("RS256", "rsa-2");
    jwks.publish([rotated, ec, rsa512]);
    const beforeRotation = jwks.fetches;
    const withRotated = await signWith(rotated, { scope: "canopy:read" });
    expect((await api.get("/v1/structures", bearer(withRotated))).status).toBe(200);
    expect(jwks.fetches).toBe(beforeRotation + 1);

    // A second unknown kid right after: no second fetch within 30 s, so it is refused for now.
    const next = await signingKey("ES256", "ec-2");
    jwks.publish([rotated, ec, rsa512, next]);
    const withNext = await signWith(next, { scope: "canopy:read" });
    expectUnauthorized(await api.get("/v1/structures", bearer(withNext)));
    expectUnauthorized(
      await api.get("/v1/structures", bearer(await signWith(next, { scope: "canopy:admin" }))),
    );
    expect(jwks.fetches).toBe(beforeRotation + 1);

    // Keys already known keep working meanwhile, without fetching.
    expect(
      (await api.get("/v1/structures", bearer(await signWith(ec, { scope: "canopy:read" })))).status,
    ).toBe(200);
    expect(jwks.fetches).toBe(beforeRotation + 1);

    // Once 30 s have passed, the unknown kid refetches again and is accepted.
    advanceClock(31_000);
    const later = await signWith(next, { scope: "canopy:read", jti: "later" });
    expect((await api.get("/v1/structures", bearer(later))).status).toBe(200);
    expect(jwks.fetches).toBe(beforeRotation + 2);

    // The retired key is no longer in the set: a fresh token signed with it is refused.
    const retired = await signWith(rsa, { scope: "canopy:read", jti: "retired" });
    expectUnauthorized(await api.get("/v1/structures", bearer(retired)));
  });

  it.each(["/healthz", "/readyz", "/metrics", "/openapi.json"])(
    "%s needs no token in JWKS mode either",
    async (path) => {
      expect((await api.get(path, { token: null })).status).toBe(200);
    },
  );
});
