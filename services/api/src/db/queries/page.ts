import type { SQL } from "drizzle-orm";
import { sql } from "drizzle-orm";
import type { Executor } from "../database.ts";
import { type Enveloped, type Page, toPage } from "../fragments.ts";

/** What every read takes: where to resume, how many, and which revision it must reflect. */
export type PageRequest = { after: string | null; limit: number; minRevision?: string | undefined };
export type ReadRequest = { minRevision?: string | undefined };

/** Keys start above 0, so "after nothing" is after 0. */
export const afterKey = (page: PageRequest) => page.after ?? "0";
/** One row more than asked says whether a next page exists. */
export const fetchLimit = (page: PageRequest) => sql`${page.limit + 1}`;

export async function readPage<T>(
  db: Executor,
  name: string,
  query: SQL,
  page: { limit: number; minRevision?: string | undefined },
): Promise<Page<T>> {
  return toPage(await db.rows<Enveloped<T>>(name, query), page.limit, page.minRevision);
}

/** A single object (or none) with the revision its snapshot reflects. */
export async function readOne<T>(
  db: Executor,
  name: string,
  query: SQL,
  read: ReadRequest,
): Promise<{ item: T | null; revision: string }> {
  const page = await readPage<T>(db, name, query, { limit: 1, minRevision: read.minRevision });
  return { item: page.items[0] ?? null, revision: page.revision };
}
