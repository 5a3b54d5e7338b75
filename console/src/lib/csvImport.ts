/** Seed 003's CSV import wizard as plain functions: the file's first rows read for a preview
 * (RFC 4180: quoted cells, doubled quotes, CRLF), the column mapping as the API takes it, and
 * an import job's progress and report in words. */

/** The header and up to ``limit`` data rows of a CSV text (blank lines skipped). */
export function previewCsv(text: string, limit = 5): { header: string[]; rows: string[][] } {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  const source = text.replace(/^\uFEFF/, "");
  const endRow = () => {
    row.push(cell);
    if (row.some((c) => c.trim() !== "")) rows.push(row);
    row = [];
    cell = "";
  };
  for (let i = 0; i < source.length && rows.length <= limit; i++) {
    const ch = source[i];
    if (quoted) {
      if (ch === '"' && source[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && source[i + 1] === "\n") i++;
      endRow();
    } else cell += ch;
  }
  if ((cell !== "" || row.length) && rows.length <= limit) endRow();
  const [header = [], ...data] = rows;
  return { header: header.map((h) => h.trim()), rows: data.slice(0, limit) };
}

/** The mapping the API takes (JSON: header -> field) from the wizard's choices; a header
 * left without a field is not imported. */
export function mappingJson(choices: Record<string, string>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(choices).filter(([, field]) => field)));
}

/** Whether the choices are the mapping a check was made with (key order aside). */
export function sameMapping(choices: Record<string, string>, checked: Record<string, string>): boolean {
  const canonical = (m: Record<string, string>) => JSON.stringify(Object.entries(m).filter(([, f]) => f).sort());
  return canonical(choices) === canonical(checked);
}

/** Two columns mapped to one field would fight over it: the fields chosen more than once. */
export function doubleMapped(choices: Record<string, string>): string[] {
  const seen = new Map<string, number>();
  for (const field of Object.values(choices)) if (field) seen.set(field, (seen.get(field) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([field]) => field);
}

export interface Progress {
  rows?: number;
  created?: number;
  updated?: number;
  matched?: number;
  rejected?: number;
}

/** Percent of the file's rows done (the check counted them), 0-100. */
export function percentDone(progress: Progress, totalRows: number): number {
  if (totalRows <= 0) return 0;
  return Math.min(100, Math.round(((progress.rows ?? 0) / totalRows) * 100));
}

export function isRunning(status: string): boolean {
  return status === "running";
}

/** "7 rows: 2 created, 1 updated, 2 matched existing customers, 2 refused." */
export function describeReport(progress: Progress): string {
  const n = (v?: number) => v ?? 0;
  return (
    `${n(progress.rows)} rows: ${n(progress.created)} created, ${n(progress.updated)} updated, ` +
    `${n(progress.matched)} matched existing customers, ${n(progress.rejected)} refused.`
  );
}

const OUTCOMES: Record<string, string> = {
  running: "Importing…",
  done: "Imported",
  rejected: "Nothing imported: the file has bad rows and the import was to be all or nothing",
  failed: "The import failed",
  superseded: "Replaced by a later import",
};

export function describeStatus(status: string): string {
  return OUTCOMES[status] ?? status;
}
