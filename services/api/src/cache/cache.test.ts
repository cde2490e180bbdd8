import { describe, expect, it } from "vitest";
import { effectiveRole } from "../domain/decide.ts";
import { chainDependencies, touchedBy } from "./dependencies.ts";
import { Freshness } from "./freshness.ts";

describe("what a change touches", () => {
  it("a grant touches its holder, the grants on its structure and the subtree keys up its path", () => {
    expect(
      touchedBy({ kind: "grant.delete", userIds: ["7"], structureIds: ["42"], paths: ["/1/5/42/"] }).sort(),
    ).toEqual(["g:42", "t:1", "t:42", "t:5", "u:7"].sort());
  });
  it("a move touches the moved structure, both parents, and both paths", () => {
    const keys = touchedBy({
      kind: "structure.move",
      userIds: [],
      structureIds: ["9", "5", "6"],
      paths: ["/1/5/9/", "/1/6/9/"],
    });
    expect(keys).toEqual(expect.arrayContaining(["s:9", "s:5", "s:6", "t:1", "t:5", "t:6", "t:9"]));
    expect(keys).not.toContain("u:9");
  });
  it("a structure's chain depends on it and every ancestor, so moving any of them invalidates it", () => {
    expect(chainDependencies("42", "/1/5/42/")).toEqual(["s:1", "s:5", "s:42"]);
    expect(chainDependencies("42", null)).toEqual(["s:42"]);
  });
});

describe("freshness", () => {
  it("an entry stays valid until one of its dependencies changes after the revision it was read at", () => {
    const f = new Freshness(1000);
    f.reset(10n);
    expect(f.isValid(10n, ["u:1"])).toBe(true);
    f.touch(12n, ["u:1"]);
    expect(f.isValid(11n, ["u:1"])).toBe(false);
    expect(f.isValid(12n, ["u:1"])).toBe(true);
    expect(f.isValid(11n, ["u:2"])).toBe(true);
    expect(f.isValid(9n, ["u:2"])).toBe(false);
  });
  it("serves nothing unless a complete poll started within the window", () => {
    let now = 0;
    const f = new Freshness(1000, 100, () => now);
    expect(f.isFresh()).toBe(false);
    f.synced(5n, 0);
    now = 999;
    expect(f.isFresh()).toBe(true);
    now = 1000;
    expect(f.isFresh()).toBe(false);
    expect(f.seen).toBe(5n);
  });
  it("forgets details past its size bound by distrusting everything older", () => {
    const f = new Freshness(1000, 2);
    f.reset(1n);
    f.touch(2n, ["a", "b"]);
    f.touch(3n, ["c"]);
    expect(f.isValid(2n, ["z"])).toBe(false);
    expect(f.isValid(3n, ["a"])).toBe(true);
  });
});

describe("effective role", () => {
  const grants = new Map([
    ["1", "viewer"],
    ["5", "admin"],
    ["9", "admin"],
  ] as const);
  it("takes the highest role on the chain, the nearest among equals", () => {
    expect(effectiveRole(["1", "5", "9", "12"], grants)).toEqual({ role: "admin", grantedAt: "9" });
    expect(effectiveRole(["1", "2"], grants)).toEqual({ role: "viewer", grantedAt: "1" });
    expect(effectiveRole(["3"], grants)).toEqual({ role: null, grantedAt: null });
  });
});
