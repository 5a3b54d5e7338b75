/** How a timeline entry reads: what happened, with its most telling detail. */

export interface TimelineEntry {
  kind: string;
  at: string;
  [key: string]: unknown;
}

const KINDS: Record<string, string> = {
  notes: "Note",
  cases: "Case",
  fulfilments: "Fulfilment",
  responses: "Response",
  attachments: "Attachment",
  enrollment: "Enrolled in loyalty",
  purchase: "Purchase",
  tier: "Tier changed",
  "coupon-issued": "Coupon issued",
  "coupon-redeemed": "Coupon redeemed",
  communication: "Communication",
};

const DETAILS = ["subject", "title", "text", "filename", "number", "campaign", "order_id", "reason", "coupon"];

export function timelineLabel(entry: TimelineEntry): string {
  let what = KINDS[entry.kind];
  if (!what && entry.kind.startsWith("points-")) what = `Points ${entry.kind.slice("points-".length)}`;
  what ??= entry.kind;
  const parts: string[] = [];
  if (entry.kind === "tier" && entry.to) parts.push(`${entry.from ?? "—"} → ${entry.to}`);
  if (entry.kind === "purchase" && entry.total !== undefined)
    parts.push(`${entry.order_id} · ${entry.total}${entry.currency ? ` ${entry.currency}` : ""}`);
  if (entry.kind.startsWith("points-") && typeof entry.points === "number")
    parts.push(`${entry.points > 0 ? "+" : ""}${entry.points}`);
  if (parts.length === 0) {
    const key = DETAILS.find((k) => typeof entry[k] === "string" && entry[k]);
    if (key) parts.push(String(entry[key]));
  }
  return parts.length ? `${what}: ${parts.join(" · ")}` : what;
}
