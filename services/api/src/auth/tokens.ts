import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import { LRUCache } from "lru-cache";
import { unauthorized, unavailable } from "../domain/errors.ts";

export const scopes = { read: "canopy:read", write: "canopy:write", admin: "canopy:admin" } as const;

export type Caller = { subject: string | undefined; scopes: ReadonlySet<string> };

export type TokenOptions = {
  jwtSecret?: string | undefined;
  jwksUrl?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
};

const leewaySeconds = 30;

/**
 * Verifies bearer tokens. The algorithm comes from the configuration (HS256 with a secret,
 * RS256/ES256 with a JWKS), never from the token. Verified tokens are remembered until they
 * expire: a WebCrypto verification costs ~90 µs, which would cap a check near a quarter of
 * what the HTTP stack can serve.
 */
export function createTokenVerifier(options: TokenOptions) {
  const key: Uint8Array | JWTVerifyGetKey | undefined = options.jwtSecret
    ? new TextEncoder().encode(options.jwtSecret)
    : options.jwksUrl
      ? // An unknown kid refetches the set, at most once every 30 s, so keys rotate without a restart.
        createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: 30_000, timeoutDuration: 5_000 })
      : undefined;
  if (!key) throw new Error("token verification needs a secret or a JWKS URL");
  const algorithms = options.jwtSecret ? ["HS256"] : ["RS256", "ES256"];
  const verified = new LRUCache<string, { caller: Caller; exp: number | undefined }>({ max: 50_000 });

  /** The caller of a token verified before and not expired, without verifying anything. */
  const known = (token: string): Caller | undefined => {
    const entry = verified.get(token);
    return entry && (entry.exp === undefined || Date.now() / 1000 <= entry.exp + leewaySeconds)
      ? entry.caller
      : undefined;
  };

  /** A token verified before answers at once (no promise): most requests carry one. */
  function verify(token: string): Caller | Promise<Caller> {
    const caller = known(token);
    if (caller) return caller;
    if (!verified.has(token)) return verifyNew(token);
    verified.delete(token);
    throw unauthorized("the token has expired");
  }
  return Object.assign(verify, { known });

  async function verifyNew(token: string): Promise<Caller> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key as Uint8Array, {
        algorithms,
        clockTolerance: leewaySeconds,
        ...(options.issuer ? { issuer: options.issuer } : {}),
        ...(options.audience ? { audience: options.audience } : {}),
      }));
    } catch (err) {
      throw tokenError(err);
    }
    const caller: Caller = {
      subject: payload.sub,
      scopes: new Set(typeof payload.scope === "string" ? payload.scope.split(" ").filter(Boolean) : []),
    };
    verified.set(token, { caller, exp: payload.exp });
    return caller;
  }
}

export type TokenVerifier = ReturnType<typeof createTokenVerifier>;

function tokenError(err: unknown) {
  const code = (err as { code?: string }).code ?? "";
  if (code === "ERR_JWT_EXPIRED") return unauthorized("the token has expired");
  if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED") {
    const claim = (err as { claim?: string }).claim;
    return unauthorized(
      claim === "nbf"
        ? "the token is not valid yet"
        : `the token's ${claim ?? "claims"} claim is not accepted`,
    );
  }
  // The key server could not be reached: the request cannot be judged, which is not the caller's fault.
  if (
    code === "ERR_JWKS_TIMEOUT" ||
    (!code.startsWith("ERR_J") && err instanceof Error && !("code" in err))
  ) {
    return unavailable("the token signing keys cannot be fetched right now");
  }
  return unauthorized("the token is not valid");
}

/** Whether the caller's scopes cover what a route needs; write implies read, admin implies both. */
export function hasScope(caller: Caller, needed: "read" | "write"): boolean {
  if (caller.scopes.has(scopes.admin) || caller.scopes.has(scopes.write)) return true;
  return needed === "read" && caller.scopes.has(scopes.read);
}
