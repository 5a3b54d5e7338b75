import { describe, expect, it } from "vitest";

import { describeReport, doubleMapped, mappingJson, percentDone, previewCsv, sameMapping } from "./csvImport";

describe("previewCsv", () => {
  it("reads quoted cells, doubled quotes, CRLF and a BOM", () => {
    const text = '\uFEFFGiven, E-mail ,Note\r\nAna,ana@example.org,"says ""hi"", twice"\r\n\r\n"Ion\nPop",,x\n';
    expect(previewCsv(text)).toEqual({
      header: ["Given", "E-mail", "Note"],
      rows: [
        ["Ana", "ana@example.org", 'says "hi", twice'],
        ["Ion\nPop", "", "x"],
      ],
    });
  });

  it("stops after the rows asked for, and a file without a newline at the end still counts", () => {
    expect(previewCsv("a,b\n1,2\n3,4\n5,6", 2).rows).toEqual([
      ["1", "2"],
      ["3", "4"],
    ]);
    expect(previewCsv("a,b\n1,2").rows).toEqual([["1", "2"]]);
    expect(previewCsv("")).toEqual({ header: [], rows: [] });
  });
});

describe("the mapping", () => {
  it("leaves out columns without a field and finds a field chosen twice", () => {
    const choices = { Given: "first_name", "E-mail": "email", Note: "", Mail: "email" };
    expect(JSON.parse(mappingJson(choices))).toEqual({ Given: "first_name", "E-mail": "email", Mail: "email" });
    expect(doubleMapped(choices)).toEqual(["email"]);
    expect(doubleMapped({ a: "email", b: "" })).toEqual([]);
    expect(sameMapping({ b: "email", a: "city", c: "" }, { a: "city", b: "email" })).toBe(true);
    expect(sameMapping({ a: "city" }, { a: "city", b: "email" })).toBe(false);
  });
});

describe("progress and report", () => {
  it("tells the share done and the outcome in words", () => {
    expect(percentDone({ rows: 3 }, 4)).toBe(75);
    expect(percentDone({ rows: 9 }, 4)).toBe(100);
    expect(percentDone({}, 0)).toBe(0);
    expect(describeReport({ rows: 7, created: 2, updated: 1, matched: 2, rejected: 2 })).toBe(
      "7 rows: 2 created, 1 updated, 2 matched existing customers, 2 refused.",
    );
  });
});
