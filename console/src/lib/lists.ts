/** Static lists and groups (seeds 002, 003) as plain functions: the form that makes a list from
 * a search and the body it sends, problems put at the form's fields, how a list would be used
 * (counts told in words) and why a customer is left out. */

import { ApiError } from "../api/problems";

export const USAGES = ["email", "mail", "phone", "sms", "fax", "other"] as const;

/** The search criteria the form offers (names as GET /api/customers takes them). */
export const CRITERIA = [
  { key: "last_name", label: "Last name" },
  { key: "first_name", label: "First name" },
  { key: "email", label: "Email" },
  { key: "phone", label: "Phone" },
  { key: "city", label: "City" },
  { key: "brick", label: "Brick" },
] as const;
export type CriterionKey = (typeof CRITERIA)[number]["key"];

export interface ListDraft {
  name: string;
  usage: string;
  excludedSuppressions: string;
  requiredTraits: string;
  criteria: Partial<Record<CriterionKey, string>>;
}

export function emptyDraft(): ListDraft {
  return { name: "", usage: "mail", excludedSuppressions: "", requiredTraits: "", criteria: {} };
}

/** "Do-Not-Mail, no-email  do-not-mail" -> ["do-not-mail", "no-email"]: commas or spaces part
 * them; the API keeps them lowercase. */
export function tags(text: string): string[] {
  const parts = text
    .split(/[\s,]+/)
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
  return [...new Set(parts)];
}

/** The criteria filled in, trimmed. */
export function criteriaOf(draft: ListDraft): Record<string, string> {
  const given: Record<string, string> = {};
  for (const { key } of CRITERIA) {
    const value = (draft.criteria[key] ?? "").trim();
    if (value) given[key] = value;
  }
  return given;
}

/** POST /api/lists/from-search: without a count it answers how many match; with the count
 * the person saw, it creates the list if the search still finds that many. */
export function fromSearchBody(draft: ListDraft, confirmCount?: number) {
  return {
    list: {
      name: draft.name.trim(),
      usage: draft.usage,
      excluded_suppressions: tags(draft.excludedSuppressions),
      required_traits: tags(draft.requiredTraits),
    },
    criteria: criteriaOf(draft),
    ...(confirmCount === undefined ? {} : { confirm_count: confirmCount }),
  };
}

const FORM_KEYS: Record<string, string> = {
  name: "name",
  usage: "usage",
  excluded_suppressions: "excludedSuppressions",
  required_traits: "requiredTraits",
};
const CRITERION_KEYS = new Set<string>(CRITERIA.map((c) => c.key));

/** A problem's fields as the form's inputs: a list field ("name", "list.name"), a criterion
 * ("phone", "criteria.phone"); anything else goes to the form as a whole. */
export function listFieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return {};
  const shown: Record<string, string> = {};
  const put = (key: string, message: string) => {
    shown[key] = shown[key] ? `${shown[key]}; ${message}` : message;
  };
  const problems = error.errors.length
    ? error.errors
    : error.field
      ? [{ field: error.field, message: error.detail || error.title }]
      : [];
  for (const problem of problems) {
    const names = (problem.field ?? "").split(",").filter(Boolean);
    if (names.length === 0) put("form", problem.message);
    for (const name of names) {
      const parts = name.split(".").filter((p) => !["body", "list", "criteria", "query"].includes(p) && !/^\d+$/.test(p));
      const key = parts[0] ?? "";
      if (FORM_KEYS[key]) put(FORM_KEYS[key], problem.message);
      else if (CRITERION_KEYS.has(key)) put(`criteria.${key}`, problem.message);
      else put("form", `${name}: ${problem.message}`);
    }
  }
  if (Object.keys(shown).length === 0 && error.status !== 409) put("form", error.message);
  return shown;
}

/** The count changed between the count and the creation: the new count, if the API said it. */
export function changedCount(error: unknown): number | null {
  if (!(error instanceof ApiError) || error.status !== 409) return null;
  const match = /found now are (\d+)/.exec(error.detail);
  return match ? Number(match[1]) : null;
}

const REASON_TITLES: Record<string, string> = {
  suppressed: "Suppressed",
  "missing-traits": "Missing required traits",
  inactive: "Inactive",
  "not-found": "Not known",
};

export function reasonTitle(code: string): string {
  return REASON_TITLES[code] ?? code;
}

export interface Usage {
  customers: number;
  included: number;
  excluded: number;
  excluded_by_reason: Record<string, number>;
}

/** "3 customers on the list: 2 used, 1 left out." */
export function describeUsage(usage: Usage): string {
  const customers = usage.customers === 1 ? "1 customer" : `${usage.customers} customers`;
  return `${customers} on the list: ${usage.included} used, ${usage.excluded} left out.`;
}

/** Left out, by reason, most first (a customer left out for two reasons counts in both). */
export function exclusions(usage: Usage): { code: string; title: string; count: number }[] {
  return Object.entries(usage.excluded_by_reason)
    .map(([code, count]) => ({ code, title: reasonTitle(code), count }))
    .sort((a, b) => b.count - a.count || a.title.localeCompare(b.title));
}

/** Why a customer is left out, with the data behind it. */
export function describeListReason(reason: { code: string; detail: string; data?: Record<string, unknown> | null }) {
  const d = reason.data ?? {};
  const list = (v: unknown) => (Array.isArray(v) && v.length ? v.map(String).join(", ") : "none");
  switch (reason.code) {
    case "suppressed":
      return `${reasonTitle(reason.code)}: ${list(d.suppressions)}`;
    case "missing-traits":
      return `${reasonTitle(reason.code)}: ${list(d.missing)}`;
    case "inactive":
      return `${reasonTitle(reason.code)}: ${String(d.status ?? "not active")}`;
    default:
      return reasonTitle(reason.code) === reason.code ? reason.detail : reasonTitle(reason.code);
  }
}

interface Ruled {
  excluded_suppressions?: string[];
  required_traits?: string[];
  owners?: { teams?: string[]; reps?: string[] };
}

/** A list's rules in words: the suppressions that leave customers out, the traits required. */
export function rulesOf(list: Ruled): string {
  const rules = [
    list.excluded_suppressions?.length ? `leaves out ${list.excluded_suppressions.join(", ")}` : "",
    list.required_traits?.length ? `requires ${list.required_traits.join(", ")}` : "",
  ].filter(Boolean);
  return rules.length ? rules.join("; ") : "none";
}

/** A group's owners in words: its teams and its reps. */
export function owners(list: Ruled): string {
  const teams = list.owners?.teams ?? [];
  const reps = list.owners?.reps ?? [];
  const parts = [teams.length ? `teams ${teams.join(", ")}` : "", reps.length ? `reps ${reps.join(", ")}` : ""];
  return parts.filter(Boolean).join("; ") || "none";
}
