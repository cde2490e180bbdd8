import { sql } from "drizzle-orm";
import { bigint, index, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { structures } from "./structures.ts";

export const users = pgTable(
  "users",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    structureId: bigint("structure_id", { mode: "number" })
      .notNull()
      .references(() => structures.id),
    email: text("email").notNull(),
    name: text("name").notNull(),
    externalId: text("external_id"),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    // (structure_id, id) serves members of a structure in keyset order as well as the join.
    index("users_structure_id_idx").on(t.structureId, t.id),
    uniqueIndex("users_email_lower_key").on(sql`lower(${t.email})`),
    uniqueIndex("users_external_id_key").on(t.externalId),
  ],
);
