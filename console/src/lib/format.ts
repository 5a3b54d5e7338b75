/** How values are shown: dates in the reader's locale, amounts with two decimals. */

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function formatDay(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString();
}

export function formatAmount(amount: string | number | null | undefined, currency?: string | null) {
  if (amount === null || amount === undefined || amount === "") return "—";
  const n = typeof amount === "number" ? amount : Number(amount);
  const shown = Number.isFinite(n) ? n.toFixed(2) : String(amount);
  return currency ? `${shown} ${currency}` : shown;
}
