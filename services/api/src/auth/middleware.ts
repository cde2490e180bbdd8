import type { Context, MiddlewareHandler, Next } from "hono";
import { forbidden, unauthorized } from "../domain/errors.ts";
import { header as headerOf } from "../http/headers.ts";
import { type Caller, hasScope, type TokenVerifier } from "./tokens.ts";

export type AuthVariables = { caller: Caller | undefined };

/** Reads are GETs and the check endpoints, batch included; everything else writes. */
export const scopeNeeded = (method: string, path: string): "read" | "write" =>
  method === "GET" || method === "HEAD" || path === "/v1/check/batch" ? "read" : "write";

/**
 * Bearer authentication and scopes for /v1. With no verifier (AUTH_MODE=none) every
 * request passes; start-up refuses that in production.
 */
export function authenticate(
  verify: TokenVerifier | undefined,
): MiddlewareHandler<{ Variables: AuthVariables }> {
  return function authenticate(c, next) {
    if (!verify) return next();
    const token = bearerToken(c);
    if (!token) {
      throw unauthorized(
        headerOf(c, "authorization")
          ? "the Authorization header must be 'Bearer <token>'"
          : "a bearer token is required",
      );
    }
    const caller = verify(token);
    return caller instanceof Promise ? caller.then((known) => admit(c, known, next)) : admit(c, caller, next);
  };
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(c: Context): string | undefined {
  const header = headerOf(c, "authorization");
  return header ? /^bearer +([^\s]+)\s*$/i.exec(header)?.[1] : undefined;
}

function admit(c: Context<{ Variables: AuthVariables }>, caller: Caller, next: Next) {
  const needed = scopeNeeded(c.req.method, c.req.path);
  if (!hasScope(caller, needed)) throw forbidden(`this route needs the canopy:${needed} scope`);
  c.set("caller", caller);
  return next();
}
