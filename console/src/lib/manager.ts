/** A manager's view of seed 000's plans as plain functions: which teams a person manages, the
 * team's plans ordered for review (submitted ones first), and who may reopen a plan. */

import type { Person } from "./session";

export interface TeamLike {
  id: string;
  name: string;
  bricks: string[];
  reps: string[];
}

export interface PlanLike {
  id: string;
  team_id: string;
  period: string;
  status: "draft" | "submitted";
  submitted_at?: string | null;
}

/** Managers and admins review and reopen plans; reps work their lists. */
export function managesPlans(person: Person): boolean {
  return person.role === "manager" || person.role === "admin";
}

/** The teams whose plans the person reviews: a manager's own teams, every team for an admin,
 * none for a rep. Sorted by name. */
export function managedTeams<T extends TeamLike>(person: Person, teams: T[]): T[] {
  if (!managesPlans(person)) return [];
  const mine = person.role === "admin" ? teams : teams.filter((t) => person.teams.includes(t.id));
  return [...mine].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/** A team's plans for review: submitted ones first (the earliest submission first, as they
 * wait longest), then drafts by period. */
export function plansForReview<P extends PlanLike>(plans: P[], teamId: string): { submitted: P[]; drafts: P[] } {
  const team = plans.filter((p) => p.team_id === teamId);
  const submitted = team
    .filter((p) => p.status === "submitted")
    .sort((a, b) => (a.submitted_at ?? "").localeCompare(b.submitted_at ?? "") || a.id.localeCompare(b.id));
  const drafts = team
    .filter((p) => p.status === "draft")
    .sort((a, b) => a.period.localeCompare(b.period) || a.id.localeCompare(b.id));
  return { submitted, drafts };
}

/** A submitted plan of a team the person manages (an admin: any) can be reopened. The API
 * decides; this only keeps the button away from those it would refuse. */
export function canReopen(person: Person, plan: PlanLike): boolean {
  if (plan.status !== "submitted") return false;
  if (person.role === "admin") return true;
  return person.role === "manager" && person.teams.includes(plan.team_id);
}
