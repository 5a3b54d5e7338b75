/** Seed 000's targeting screens as plain functions: the reasons a customer is out of a plan's
 * list told with their data, the list's filters as query parameters, and the add/edit flow's
 * profile values (what changed, and the body the compute and save calls take). */

export interface Reason {
  code: string;
  detail: string;
  data?: Record<string, unknown>;
}

const TITLES: Record<string, string> = {
  "no-address-in-bricks": "No address in the team's bricks",
  "not-segmented": "Not profiled or segmented",
  "segment-not-targeted": "In a segment the plan does not target",
  "account-segments-not-targeted": "An account, and the plan targets no account segments",
  inactive: "Inactive",
  suppressed: "Suppressed",
  "manually-removed": "Removed by hand",
  "manually-added": "Added by hand",
  "not-in-submitted-list": "Not in the list as submitted",
  "customer-not-found": "Not known",
};

const list = (value: unknown): string => {
  const items = Array.isArray(value) ? value.map(String) : [];
  return items.length ? items.join(", ") : "none";
};

const profile = (value: unknown): string => {
  const entries = Object.entries((value ?? {}) as Record<string, unknown>);
  return entries.length ? entries.map(([k, v]) => `${k} ${String(v)}`).join(", ") : "no values";
};

/** A reason's title and the facts behind it, as a person reads them. */
export function describeReason(reason: Reason): { title: string; facts: string[] } {
  const d = reason.data ?? {};
  const title = TITLES[reason.code] ?? reason.detail;
  switch (reason.code) {
    case "no-address-in-bricks":
      return {
        title,
        facts: [
          `${d.primary_address_only ? "Primary address" : "Address"} bricks: ${list(d.customer_bricks)}`,
          `Team's bricks: ${list(d.team_bricks)}`,
        ],
      };
    case "not-segmented":
    case "segment-not-targeted":
      return {
        title,
        facts: [
          `Segmentation ${String(d.segmentation)}: segment ${d.segment ? String(d.segment) : "none"}`,
          `Profile values: ${profile(d.profile)}`,
          `Targeted segments: ${list(d.targeted_segments)}`,
        ],
      };
    case "suppressed":
      return { title, facts: [`Suppressions: ${list(d.suppressions)}`] };
    case "inactive":
      return { title, facts: [`Status: ${String(d.status ?? "unknown")}`] };
    default:
      return { title, facts: reason.detail && reason.detail !== title ? [reason.detail] : [] };
  }
}

/** The list's filters as the API takes them: a segment is "segmentation/segment". */
export function listFilters(segment: string | null, brick: string | null) {
  const query: { segmentation?: string; segment?: string; brick?: string } = {};
  const [segmentation, code] = (segment ?? "").split("/");
  if (segmentation && code) Object.assign(query, { segmentation, segment: code });
  const b = (brick ?? "").trim();
  if (b) query.brick = b;
  return query;
}

/** Segmentation -> dimension -> profile value. */
export type Profiles = Record<string, Record<string, string>>;

export interface ProfileChange {
  segmentation: string;
  dimension: string;
  from: string | null;
  to: string;
}

/** The values the person changed or added (an emptied field changes nothing). */
export function profileChanges(before: Profiles, after: Profiles): ProfileChange[] {
  const changes: ProfileChange[] = [];
  for (const [segmentation, values] of Object.entries(after)) {
    for (const [dimension, to] of Object.entries(values)) {
      const from = before[segmentation]?.[dimension] ?? null;
      if (to && to !== from) changes.push({ segmentation, dimension, from, to });
    }
  }
  return changes;
}

/** The body of compute and save: every segmentation with a change, with all its values (the
 * kept ones too, since a segmentation's values are saved together); null when nothing changed. */
export function profileEdit(before: Profiles, after: Profiles): { profiles: Profiles } | null {
  const changed = new Set(profileChanges(before, after).map((c) => c.segmentation));
  if (changed.size === 0) return null;
  const profiles: Profiles = {};
  for (const segmentation of changed) {
    const merged = { ...(before[segmentation] ?? {}) };
    for (const [dimension, value] of Object.entries(after[segmentation] ?? {})) {
      if (value) merged[dimension] = value;
    }
    profiles[segmentation] = merged;
  }
  return { profiles };
}
