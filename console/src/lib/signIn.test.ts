import { describe, expect, it } from "vitest";

import { displayName } from "./search";
import { isExpired, readClaims } from "./session";
import { parseTeams, validateDevSignIn, validatePastedToken } from "./signIn";
import { timelineLabel } from "./timeline";

const ROLES = ["rep", "manager", "admin"];

function token(claims: object): string {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}.signature`;
}

describe("dev sign-in form", () => {
  it("accepts a user, a role and teams", () => {
    expect(validateDevSignIn({ user: "ana", role: "rep", teams: "north, south" }, ROLES)).toEqual({});
  });

  it("names each field at fault", () => {
    const errors = validateDevSignIn({ user: "ana pop", role: "boss", teams: "no/rth" }, ROLES);
    expect(Object.keys(errors).sort()).toEqual(["role", "teams", "user"]);
  });

  it("splits teams on commas and spaces", () => {
    expect(parseTeams(" north,south  east ,")).toEqual(["north", "south", "east"]);
  });
});

describe("pasted token", () => {
  it("must look like a JWT", () => {
    expect(validatePastedToken("")).toMatch(/Paste/);
    expect(validatePastedToken("abc.def")).toMatch(/not a JSON Web Token/);
    expect(validatePastedToken(token({ sub: "ana", role: "rep" }))).toBeNull();
    expect(validatePastedToken(token({ role: "rep" }))).toMatch(/no user/);
    expect(validatePastedToken(token({ sub: "ana", role: "rep", exp: 100 }), 101)).toMatch(/expired/);
  });

  it("tells who it is for and when it expires", () => {
    const person = readClaims(token({ sub: "ana", role: "manager", teams: ["north"], exp: 100 }));
    expect(person).toEqual({ user: "ana", role: "manager", teams: ["north"], expiresAt: 100 });
    expect(isExpired(person!, 99)).toBe(false);
    expect(isExpired(person!, 100)).toBe(true);
    expect(readClaims("not.a.token")).toBeNull();
  });
});

describe("display", () => {
  it("names a person, else the organization", () => {
    expect(displayName({ first_name: "Ana", last_name: "Pop" })).toBe("Ana Pop");
    expect(displayName({ organization: "Clinica Sud" })).toBe("Clinica Sud");
  });

  it("labels timeline entries with their telling detail", () => {
    expect(timelineLabel({ kind: "purchase", at: "", order_id: "O-1", total: "12.50", currency: "RON" })).toBe(
      "Purchase: O-1 · 12.50 RON",
    );
    expect(timelineLabel({ kind: "points-adjust", at: "", points: -20 })).toBe("Points adjust: -20");
    expect(timelineLabel({ kind: "tier", at: "", from: "silver", to: "gold" })).toBe("Tier changed: silver → gold");
    expect(timelineLabel({ kind: "notes", at: "", text: "Called back" })).toBe("Note: Called back");
  });
});
