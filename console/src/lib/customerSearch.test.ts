import { InfiniteQueryObserver, QueryClient } from "@tanstack/react-query";
import { afterEach, describe, expect, it } from "vitest";

import { quickSearchQuery, type Page } from "./customerSearch";

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("quick search query", () => {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  afterEach(() => client.clear());

  it("aborts the request of a term replaced by a newer one", async () => {
    const asked: { q: string; signal: AbortSignal }[] = [];
    const slowSearch = (query: { q: string }, signal: AbortSignal): Promise<Page<string>> => {
      asked.push({ q: query.q, signal });
      return new Promise((resolve) => setTimeout(() => resolve({ items: [query.q] }), 50));
    };
    const observer = new InfiniteQueryObserver(client, quickSearchQuery("Ana", slowSearch));
    const seen: string[][] = [];
    const unsubscribe = observer.subscribe((result) => {
      if (result.data && !result.isPlaceholderData) seen.push(result.data.pages.flatMap((p) => p.items));
    });
    await settle(5);
    observer.setOptions(quickSearchQuery("Anabel", slowSearch));
    await settle(100);
    unsubscribe();

    expect(asked.map((a) => a.q)).toEqual(["Ana", "Anabel"]);
    expect(asked[0].signal.aborted).toBe(true);
    expect(asked[1].signal.aborted).toBe(false);
    expect(seen).toEqual([["Anabel"]]);
  });

  it("asks nothing for a term too short to search", async () => {
    const asked: string[] = [];
    const observer = new InfiniteQueryObserver(
      client,
      quickSearchQuery(null, async (query) => {
        asked.push(query.q);
        return { items: [] };
      }),
    );
    const unsubscribe = observer.subscribe(() => {});
    await settle(10);
    unsubscribe();
    expect(asked).toEqual([]);
  });

  it("pages on with the previous page's cursor", async () => {
    const cursors: (string | undefined)[] = [];
    const observer = new InfiniteQueryObserver(
      client,
      quickSearchQuery("Pop", async (query: { q: string; cursor?: string }) => {
        cursors.push(query.cursor);
        return query.cursor ? { items: ["b"], next_cursor: null } : { items: ["a"], next_cursor: "c1" };
      }),
    );
    const unsubscribe = observer.subscribe(() => {});
    await settle(10);
    expect(observer.getCurrentResult().hasNextPage).toBe(true);
    await observer.fetchNextPage();
    unsubscribe();
    expect(cursors).toEqual([undefined, "c1"]);
    expect(observer.getCurrentResult().data?.pages.flatMap((p) => p.items)).toEqual(["a", "b"]);
    expect(observer.getCurrentResult().hasNextPage).toBe(false);
  });
});
