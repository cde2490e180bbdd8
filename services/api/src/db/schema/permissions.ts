import { bigint, index, pgEnum, pgTable, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { structures } from "./structures.ts";
import { users } from "./users.ts";

/** Declared in ascending order, so Postgres compares roles as the contract orders them. */
export const roleEnum = pgEnum("role", ["viewer", "editor", "admin"]);

export const permissions = pgTable(
  "permissions",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    userId: bigint("user_id", { mode: "number" })
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    structureId: bigint("structure_id", { mode: "number" })
      .notNull()
      .references(() => structures.id),
    role: roleEnum("role").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("permissions_user_id_structure_id_key").on(t.userId, t.structureId),
    // (structure_id, user_id) serves principals in keyset order by user.
    index("permissions_structure_id_idx").on(t.structureId, t.userId),
  ],
);
