import { describe, expect, it } from "vitest";

import { canReopen, managedTeams, managesPlans, plansForReview, type PlanLike } from "./manager";
import type { Person } from "./session";

const person = (role: string, teams: string[] = []): Person => ({ user: "u", role, teams, expiresAt: null });
const team = (id: string, name: string) => ({ id, name, bricks: [], reps: [] });
const plan = (id: string, team_id: string, status: PlanLike["status"], period = "2026", submitted_at?: string) => ({
  id,
  team_id,
  period,
  status,
  submitted_at,
});

describe("managedTeams", () => {
  const teams = [team("south", "South"), team("north", "North"), team("east", "East")];

  it("is a manager's own teams, by name", () => {
    expect(managedTeams(person("manager", ["south", "north"]), teams).map((t) => t.id)).toEqual(["north", "south"]);
  });

  it("is every team for an admin and none for a rep", () => {
    expect(managedTeams(person("admin"), teams).map((t) => t.id)).toEqual(["east", "north", "south"]);
    expect(managedTeams(person("rep", ["north"]), teams)).toEqual([]);
    expect(managesPlans(person("rep", ["north"]))).toBe(false);
  });
});

describe("plansForReview", () => {
  it("puts the team's submitted plans first, the longest waiting first, then drafts by period", () => {
    const plans = [
      plan("d2", "north", "draft", "2027"),
      plan("s-late", "north", "submitted", "2026", "2026-12-01T10:00:00Z"),
      plan("other", "south", "submitted", "2026", "2026-11-01T10:00:00Z"),
      plan("d1", "north", "draft", "2026-Q4"),
      plan("s-early", "north", "submitted", "2026", "2026-11-30T10:00:00Z"),
    ];
    const { submitted, drafts } = plansForReview(plans, "north");
    expect(submitted.map((p) => p.id)).toEqual(["s-early", "s-late"]);
    expect(drafts.map((p) => p.id)).toEqual(["d1", "d2"]);
  });
});

describe("canReopen", () => {
  const submitted = plan("p", "north", "submitted");

  it("lets a manager of the plan's team and an admin reopen a submitted plan", () => {
    expect(canReopen(person("manager", ["north"]), submitted)).toBe(true);
    expect(canReopen(person("admin"), submitted)).toBe(true);
  });

  it("refuses a rep, a manager of another team, and any draft", () => {
    expect(canReopen(person("rep", ["north"]), submitted)).toBe(false);
    expect(canReopen(person("manager", ["south"]), submitted)).toBe(false);
    expect(canReopen(person("manager", ["north"]), plan("p", "north", "draft"))).toBe(false);
  });
});
