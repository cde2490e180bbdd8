import { randomUUID } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { header } from "./headers.ts";

/**
 * Hono's requestId, reading the caller's X-Request-Id through Node's parsed headers (see
 * headers.ts): a caller's id is kept when it is short and plain, else one is made.
 */
export function requestId(): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async function requestId(c, next) {
    const given = header(c, "x-request-id");
    const id = given && given.length <= 255 && !/[^\w\-=]/.test(given) ? given : randomUUID();
    c.set("requestId", id);
    c.header("X-Request-Id", id);
    await next();
  };
}
