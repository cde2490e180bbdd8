import type { MiddlewareHandler } from "hono";
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
    const header = headerOf(c, "authorization");
    const match = header ? /^bearer +([^\s]+)\s*$/i.exec(header) : null;
    if (!match?.[1])
      throw unauthorized(
        header ? "the Authorization header must be 'Bearer <token>'" : "a bearer token is required",
      );
    const admit = (caller: Caller) => {
      const needed = scopeNeeded(c.req.method, c.req.path);
      if (!hasScope(caller, needed)) throw forbidden(`this route needs the canopy:${needed} scope`);
      c.set("caller", caller);
      return next();
    };
    const caller = verify(match[1]);
    return caller instanceof Promise ? caller.then(admit) : admit(caller);
  };
}
