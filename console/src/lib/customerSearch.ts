/** The quick search as a query: one per term, paged by cursor. When the term changes the old
 * query loses its observer and TanStack Query aborts its request (the signal passed here), so
 * a slow answer for "Ana" never lands on the screen after "Anabel" was asked. */
import { infiniteQueryOptions, keepPreviousData } from "@tanstack/react-query";

import { PAGE_SIZE } from "./search";

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

export type SearchCustomers<T> = (
  query: { q: string; limit: number; cursor?: string },
  signal: AbortSignal,
) => Promise<Page<T>>;

export function quickSearchQuery<T>(term: string | null, search: SearchCustomers<T>) {
  return infiniteQueryOptions({
    queryKey: ["customers", "quick", term],
    enabled: term !== null,
    initialPageParam: null as string | null,
    placeholderData: keepPreviousData,
    queryFn: ({ signal, pageParam }) =>
      search({ q: term ?? "", limit: PAGE_SIZE, ...(pageParam ? { cursor: pageParam } : {}) }, signal),
    getNextPageParam: (page: Page<T>) => page.next_cursor ?? undefined,
  });
}
