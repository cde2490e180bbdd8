import { describe, expect, it } from "vitest";
import { createCursors } from "./cursor.ts";
import { DomainError } from "./errors.ts";
import { idArray, parseId } from "./ids.ts";
import { allows, roleFor } from "./roles.ts";
import { childPath, isWithin, wouldCycle } from "./tree.ts";

describe("roles", () => {
  it.each([
    ["viewer", "read", true],
    ["viewer", "write", false],
    ["editor", "write", true],
    ["editor", "manage", false],
    ["admin", "manage", true],
    [null, "read", false],
  ] as const)("%s may %s: %s", (role, action, expected) => {
    expect(allows(role, action)).toBe(expected);
  });
  it("maps each action to the least role it needs", () => {
    expect([roleFor("read"), roleFor("write"), roleFor("manage")]).toEqual(["viewer", "editor", "admin"]);
  });
});

describe("ids", () => {
  it.each(["1", "42", "9223372036854775807"])("%s is an id", (id) => expect(parseId(id)).toBe(id));
  it.each(["", "0", "007", "-1", "1e3", "abc", " 1", "9223372036854775808", "1.0"])(
    "%j names nothing",
    (id) => expect(parseId(id)).toBeNull(),
  );
  it("writes Postgres array literals with NULL for unknown ids", () => {
    expect(idArray(["1", null, "3"])).toBe("{1,NULL,3}");
  });
});

describe("paths", () => {
  it("builds a child's path from its parent's", () => {
    expect(childPath(null, "1")).toBe("/1/");
    expect(childPath("/1/7/", "42")).toBe("/1/7/42/");
  });
  it("knows a subtree by its prefix, without confusing /1/ with /12/", () => {
    expect(isWithin("/1/7/", "/1/")).toBe(true);
    expect(isWithin("/12/", "/1/")).toBe(false);
  });
  it("refuses moves under itself or a descendant, allows moves to the root", () => {
    expect(wouldCycle("/1/7/", "/1/7/")).toBe(true);
    expect(wouldCycle("/1/7/", "/1/7/9/")).toBe(true);
    expect(wouldCycle("/1/7/", "/1/")).toBe(false);
    expect(wouldCycle("/1/7/", null)).toBe(false);
  });
});

describe("cursors", () => {
  const cursors = createCursors("a-secret-of-at-least-32-bytes-000000");
  const binding = { route: "/v1/users/{id}/visible-users", params: { id: "7", action: "read" } };

  it("round-trip the key for the binding they were issued for", () => {
    expect(cursors.decode(binding, cursors.encode(binding, "1234"))).toBe("1234");
  });
  it.each([
    ["another route", { route: "/v1/users/{id}/structures", params: { id: "7", action: "read" } }],
    ["another path id", { ...binding, params: { id: "8", action: "read" } }],
    ["another filter", { ...binding, params: { id: "7", action: "write" } }],
  ])("are refused on %s", (_, other) => {
    expect(() => cursors.decode(other, cursors.encode(binding, "1234"))).toThrow(DomainError);
  });
  it("are refused when altered, forged or signed with another secret", () => {
    const good = cursors.encode(binding, "1234");
    const [payload, mac] = good.split(".") as [string, string];
    const forgedKey = `${Buffer.from("9999").toString("base64url")}.${mac}`;
    const foreign = createCursors("another-secret-of-at-least-32-bytes-0").encode(binding, "1234");
    for (const bad of [
      forgedKey,
      `${payload}.${mac.slice(0, -2)}xx`,
      "garbage",
      "",
      `${good}.extra`,
      foreign,
    ]) {
      expect(() => cursors.decode(binding, bad)).toThrow(DomainError);
    }
  });
});
