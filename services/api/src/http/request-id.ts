import { randomUUID } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { header, withResponseHeader } from "./headers.ts";

/**
 * Hono's requestId, reading and answering through Node's own headers (see headers.ts): a
 * caller's X-Request-Id is kept when it is short and plain, else one is made.
 */
export function requestId(): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return function requestId(c, next) {
    const given = header(c, "x-request-id");
    const id = given && given.length <= 255 && !/[^\w\-=]/.test(given) ? given : randomUUID();
    c.set("requestId", id);
    return withResponseHeader(c, "X-Request-Id", id, next);
  };
}
