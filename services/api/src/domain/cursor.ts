import { createHmac, timingSafeEqual } from "node:crypto";
import { badRequest } from "./errors.ts";

/**
 * Opaque page cursors: the last key of a page, signed with HMAC-SHA256 over the key and the
 * binding (route pattern, path ids and filters), so that a cursor the server did not issue,
 * an altered one, or one replayed on another route or with other filters is refused.
 */
export type CursorBinding = { route: string; params?: Record<string, string | undefined> };

export function createCursors(secret: string | Buffer) {
  const sign = (binding: string, key: string) =>
    createHmac("sha256", secret).update(binding).update("\0").update(key).digest();

  return {
    encode(binding: CursorBinding, key: string): string {
      const payload = Buffer.from(key).toString("base64url");
      return `${payload}.${sign(canonical(binding), key).toString("base64url")}`;
    },
    /** The key the cursor carries, or a 400 when it is not one this server issued for this binding. */
    decode(binding: CursorBinding, cursor: string): string {
      const [payload, mac, extra] = cursor.split(".");
      if (!payload || !mac || extra !== undefined) throw invalid();
      const key = Buffer.from(payload, "base64url").toString();
      const expected = sign(canonical(binding), key);
      const given = Buffer.from(mac, "base64url");
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
      // base64url decoding forgives padding, stray characters and spare bits: accept only the exact text issued.
      if (cursor !== `${Buffer.from(key).toString("base64url")}.${expected.toString("base64url")}`)
        throw invalid();
      return key;
    },
  };
}

export type Cursors = ReturnType<typeof createCursors>;

const invalid = () =>
  badRequest("the cursor is not valid for this request", [
    { path: "cursor", message: "not issued by this server for this route and these filters" },
  ]);

function canonical({ route, params = {} }: CursorBinding): string {
  const entries = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([route, entries]);
}
