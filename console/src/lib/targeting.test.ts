import { describe, expect, it } from "vitest";

import { describeReason, listFilters, profileChanges, profileEdit } from "./targeting";

describe("describeReason", () => {
  it("shows the customer's bricks beside the team's", () => {
    const told = describeReason({
      code: "no-address-in-bricks",
      detail: "no primary address in the team's bricks",
      data: { customer_bricks: ["BS9"], team_bricks: ["BN1", "BN2"], primary_address_only: true },
    });
    expect(told.title).toBe("No address in the team's bricks");
    expect(told.facts).toEqual(["Primary address bricks: BS9", "Team's bricks: BN1, BN2"]);
  });

  it("shows the segment, profile values and targeted segments", () => {
    const told = describeReason({
      code: "segment-not-targeted",
      detail: "in segment c of cardio, which the plan does not target",
      data: { segmentation: "cardio", segment: "c", profile: { potential: "low" }, targeted_segments: ["a", "b"] },
    });
    expect(told.facts).toEqual([
      "Segmentation cardio: segment c",
      "Profile values: potential low",
      "Targeted segments: a, b",
    ]);
    const none = describeReason({
      code: "not-segmented",
      detail: "",
      data: { segmentation: "cardio", segment: null, profile: {}, targeted_segments: [] },
    });
    expect(none.facts).toEqual(["Segmentation cardio: segment none", "Profile values: no values", "Targeted segments: none"]);
  });

  it("falls back to the service's detail for a code it does not know", () => {
    expect(describeReason({ code: "something-new", detail: "a new rule" })).toEqual({ title: "a new rule", facts: [] });
  });
});

describe("listFilters", () => {
  it("splits a segment into segmentation and segment, and trims the brick", () => {
    expect(listFilters("cardio/a", " BN1 ")).toEqual({ segmentation: "cardio", segment: "a", brick: "BN1" });
    expect(listFilters(null, "")).toEqual({});
    expect(listFilters("cardio", null)).toEqual({});
  });
});

describe("the add/edit flow's profile values", () => {
  const before = { cardio: { potential: "low" }, onco: { stage: "x" } };

  it("lists what changed or was added, not what stayed or was emptied", () => {
    const after = { cardio: { potential: "high", adoption: "early" }, onco: { stage: "x" }, derm: { a: "" } };
    expect(profileChanges(before, after)).toEqual([
      { segmentation: "cardio", dimension: "potential", from: "low", to: "high" },
      { segmentation: "cardio", dimension: "adoption", from: null, to: "early" },
    ]);
  });

  it("sends each changed segmentation with all its values, and nothing when nothing changed", () => {
    expect(profileEdit(before, { cardio: { adoption: "early" }, onco: { stage: "x" } })).toEqual({
      profiles: { cardio: { potential: "low", adoption: "early" } },
    });
    expect(profileEdit(before, before)).toBeNull();
  });
});
