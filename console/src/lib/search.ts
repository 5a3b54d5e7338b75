/** The quick search's rules: what is worth sending, and how long to wait for more typing. */

export const SEARCH_DEBOUNCE_MS = 300;
export const MIN_SEARCH_LENGTH = 2;
export const PAGE_SIZE = 25;

/** The term to search for, or null when the box holds too little to search. */
export function searchTerm(typed: string): string | null {
  const term = typed.trim().replace(/\s+/g, " ");
  return term.length >= MIN_SEARCH_LENGTH ? term.slice(0, 100) : null;
}

export interface NamedCustomer {
  salutation?: string | null;
  first_name?: string | null;
  middle_name?: string | null;
  last_name?: string | null;
  organization?: string | null;
}

/** How a customer is named in lists and headings: a person's name, else the organization. */
export function displayName(c: NamedCustomer): string {
  const person = [c.first_name, c.middle_name, c.last_name].filter(Boolean).join(" ");
  return person || c.organization || "(no name)";
}
