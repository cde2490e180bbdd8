import { sql } from "drizzle-orm";
import { conflict, DomainError } from "../../domain/errors.ts";
import { idArray, pathArray } from "../../domain/ids.ts";
import type { Database, Executor } from "../database.ts";
import { changeLog, revisionCounter } from "../schema/index.ts";

/** What a write changed, kept in the change log for caches to invalidate from. */
export type Change = {
  kind: string;
  userIds?: (string | null)[];
  structureIds?: (string | null)[];
  /** Paths of the structures touched, before and after the change. */
  paths?: (string | null)[];
};

export type Committed<T> = { value: T; revision: string };

/**
 * Runs one write transaction and gives it the next revision. The counter is incremented
 * last, just before COMMIT: its row lock makes writers take revisions in commit order while
 * holding it as briefly as possible. The change log row goes in the same statement.
 */
export async function commitWrite<T>(
  db: Database,
  fn: (tx: Executor) => Promise<{ value: T; change: Change }>,
  // What a foreign key violation means for this write, when a race beats the checks in fn.
  onForeignKey: () => DomainError = () => conflict("a referenced row changed concurrently"),
): Promise<Committed<T>> {
  try {
    const committed = await db.transaction(async (tx) => {
      const { value, change } = await fn(tx);
      const [row] = await tx.rows<{ revision: string }>(
        "revision.commit",
        sql`WITH next AS (
              UPDATE ${revisionCounter} SET value = value + 1 WHERE id = 1 RETURNING value
            )
            INSERT INTO ${changeLog} (revision, kind, user_ids, structure_ids, paths)
            SELECT value, ${change.kind}, ${idArray(change.userIds ?? [])}::bigint[],
                   ${idArray(change.structureIds ?? [])}::bigint[], ${pathArray((change.paths ?? []).filter((x) => x !== null))}::text[]
            FROM next RETURNING revision::text AS revision`,
      );
      if (!row) throw new Error("the revision counter row is missing; run migrations");
      return { value, change, revision: row.revision };
    });
    db.afterCommit?.(committed.revision, committed.change);
    return { value: committed.value, revision: committed.revision };
  } catch (err) {
    if (err instanceof DomainError) throw err;
    const code = pgCode(err);
    if (code === "23505") throw conflict("a row with these unique values already exists");
    if (code === "23503") throw onForeignKey();
    throw err;
  }
}

export function pgCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = e?.code ?? e?.cause?.code;
  return typeof code === "string" ? code : undefined;
}

const treeLockKey = 0x63616e6f; // "cano"

/**
 * Moves rewrite paths across a subtree: they take the tree lock exclusively, and writes that
 * read a path to build another (creating or deleting a structure) take it shared, so no path
 * is ever computed from one that a concurrent move is rewriting, on any instance.
 */
export async function lockTree(tx: Executor, mode: "shared" | "exclusive"): Promise<void> {
  await (mode === "exclusive"
    ? tx.rows("tree.lock.exclusive", sql`SELECT pg_advisory_xact_lock(${treeLockKey}::bigint)::text`)
    : tx.rows("tree.lock.shared", sql`SELECT pg_advisory_xact_lock_shared(${treeLockKey}::bigint)::text`));
}
