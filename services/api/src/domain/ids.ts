const maxId = 9223372036854775807n;

/**
 * Ids are opaque strings to clients; on the server they are positive bigints written in
 * canonical decimal. Any other string names nothing, so it maps to null (looked up as absent),
 * never to a validation error.
 */
export function parseId(value: string): string | null {
  if (!/^[1-9][0-9]{0,18}$/.test(value)) return null;
  return BigInt(value) <= maxId ? value : null;
}

/** A Postgres array literal of ids (already canonical digits, or null). */
export function idArray(ids: readonly (string | null)[]): string {
  return `{${ids.map((id) => id ?? "NULL").join(",")}}`;
}

/** A Postgres array literal of materialized paths (digits and '/' only, so nothing to escape). */
export function pathArray(paths: readonly string[]): string {
  return `{${paths.map((p) => `"${p}"`).join(",")}}`;
}
