import { describe, expect, it } from "vitest";

import { ApiError } from "../api/problems";
import {
  changedCount,
  describeListReason,
  describeUsage,
  emptyDraft,
  exclusions,
  fromSearchBody,
  listFieldErrors,
  owners,
  rulesOf,
  tags,
} from "./lists";

describe("fromSearchBody", () => {
  const draft = {
    ...emptyDraft(),
    name: "  Mailing north ",
    excludedSuppressions: "Do-Not-Mail, no-email do-not-mail",
    requiredTraits: "",
    criteria: { last_name: " Pop ", city: "", brick: "BN1" },
  };

  it("sends the list's rules as lowercase tags and only the criteria filled in", () => {
    expect(fromSearchBody(draft)).toEqual({
      list: { name: "Mailing north", usage: "mail", excluded_suppressions: ["do-not-mail", "no-email"], required_traits: [] },
      criteria: { last_name: "Pop", brick: "BN1" },
    });
  });

  it("confirms the count the person saw", () => {
    expect(fromSearchBody(draft, 3).confirm_count).toBe(3);
    expect(tags("  ")).toEqual([]);
  });
});

describe("listFieldErrors", () => {
  it("puts a criterion's problem at its input and a list field's at the list's", () => {
    const error = new ApiError(422, "Invalid", "", undefined, [
      { field: "phone", message: "a phone number needs digits" },
      { field: "list.name", message: "too long" },
      { field: "body.criteria", message: "odd" },
    ]);
    const errors = listFieldErrors(error);
    expect(errors).toEqual({
      "criteria.phone": "a phone number needs digits",
      name: "too long",
      form: "body.criteria: odd",
    });
  });

  it("says a problem without fields on the form, but not a changed count", () => {
    expect(listFieldErrors(new ApiError(403, "Forbidden", "not allowed"))).toEqual({ form: "not allowed" });
    const changed = new ApiError(409, "Conflict", "the customers found now are 4, not 3");
    expect(listFieldErrors(changed)).toEqual({});
    expect(changedCount(changed)).toBe(4);
    expect(changedCount(new Error("x"))).toBeNull();
  });
});

describe("a list's usage", () => {
  const usage = { customers: 5, included: 2, excluded: 3, excluded_by_reason: { inactive: 1, suppressed: 2, "missing-traits": 1 } };

  it("is told in words, the commonest reason first", () => {
    expect(describeUsage(usage)).toBe("5 customers on the list: 2 used, 3 left out.");
    expect(exclusions(usage).map((e) => `${e.title} ${e.count}`)).toEqual([
      "Suppressed 2",
      "Inactive 1",
      "Missing required traits 1",
    ]);
  });

  it("tells each reason with its data", () => {
    expect(describeListReason({ code: "suppressed", detail: "", data: { suppressions: ["do-not-mail"] } })).toBe(
      "Suppressed: do-not-mail",
    );
    expect(describeListReason({ code: "missing-traits", detail: "", data: { missing: ["vip", "kol"] } })).toBe(
      "Missing required traits: vip, kol",
    );
    expect(describeListReason({ code: "something-new", detail: "as the API says" })).toBe("as the API says");
  });
});

describe("a list's rules and owners", () => {
  it("are told in words", () => {
    expect(rulesOf({ excluded_suppressions: ["do-not-mail"], required_traits: ["vip"] })).toBe(
      "leaves out do-not-mail; requires vip",
    );
    expect(rulesOf({})).toBe("none");
    expect(owners({ owners: { teams: ["north"], reps: ["ana", "ion"] } })).toBe("teams north; reps ana, ion");
    expect(owners({ owners: { teams: [], reps: [] } })).toBe("none");
  });
});
