import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { Debouncer } from "./debounce";
import { SEARCH_DEBOUNCE_MS, searchTerm } from "./search";

describe("Debouncer", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("delivers only the last value once typing pauses", () => {
    const delivered: string[] = [];
    const debouncer = new Debouncer<string>(SEARCH_DEBOUNCE_MS, (v) => delivered.push(v));
    let typed = "";
    for (const letter of "Alexandrov") {
      typed += letter;
      debouncer.offer(typed);
      vi.advanceTimersByTime(80); // a brisk typist
    }
    expect(delivered).toEqual([]);
    vi.advanceTimersByTime(SEARCH_DEBOUNCE_MS);
    expect(delivered).toEqual(["Alexandrov"]);
  });

  it("sends at most 3 searches for a 10-letter name typed with two pauses", () => {
    const sent: string[] = [];
    const debouncer = new Debouncer<string>(SEARCH_DEBOUNCE_MS, (v) => {
      const term = searchTerm(v);
      if (term) sent.push(term);
    });
    const name = "Vasilescus";
    for (let i = 1; i <= name.length; i++) {
      debouncer.offer(name.slice(0, i));
      vi.advanceTimersByTime(i === 3 || i === 7 ? 400 : 100); // the typist hesitates twice
    }
    vi.runAllTimers();
    expect(sent).toEqual(["Vas", "Vasiles", "Vasilescus"]);
    expect(sent.length).toBeLessThanOrEqual(3);
  });

  it("cancel drops a pending value", () => {
    const delivered: number[] = [];
    const debouncer = new Debouncer<number>(100, (v) => delivered.push(v));
    debouncer.offer(1);
    expect(debouncer.pending).toBe(true);
    debouncer.cancel();
    vi.runAllTimers();
    expect(delivered).toEqual([]);
    expect(debouncer.pending).toBe(false);
  });
});

describe("searchTerm", () => {
  it("needs two characters and squeezes spaces", () => {
    expect(searchTerm("")).toBeNull();
    expect(searchTerm(" a ")).toBeNull();
    expect(searchTerm("  ana   pop ")).toBe("ana pop");
  });

  it("caps the term at the API's 100 characters", () => {
    expect(searchTerm("x".repeat(150))?.length).toBe(100);
  });
});
