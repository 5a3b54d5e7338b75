import { describe, expect, it } from "vitest";

import { ApiError } from "../api/problems";
import { createBody, editPatch, emptyForm, fieldErrors, formFromCustomer, isConflict } from "./customerForm";

describe("a new customer's body", () => {
  it("leaves blank fields out and makes the address the primary one", () => {
    const form = emptyForm();
    form.fields.first_name = " Ana ";
    form.fields.sms = "+40 721 000 111";
    form.address.city = "Cluj";
    expect(createBody(form)).toEqual({
      kind: "person",
      customer_type: "customer",
      external: false,
      first_name: "Ana",
      sms: "+40 721 000 111",
      content_type: "unknown",
      addresses: [{ city: "Cluj", primary: true }],
    });
    expect(createBody(emptyForm()).addresses).toEqual([]);
  });
});

describe("an edit's patch", () => {
  const stored = {
    first_name: "Ana",
    email: "ana@example.org",
    fax: "+40 1",
    content_type: "html" as const,
    addresses: [
      { line1: "2 Side St", city: "Iasi", primary: false },
      { line1: "1 Main St", city: "Cluj", primary: true },
    ],
  };

  it("sends only what changed, a blanked field as null", () => {
    const form = formFromCustomer(stored);
    expect(form.address.city).toBe("Cluj");
    form.fields.email = "ana.pop@example.org";
    form.fields.fax = "";
    expect(editPatch(stored, form)).toEqual({ email: "ana.pop@example.org", fax: null });
    expect(editPatch(stored, formFromCustomer(stored))).toEqual({});
  });

  it("replaces the primary address and keeps the others", () => {
    const form = formFromCustomer(stored);
    form.address.city = "Turda";
    expect(editPatch(stored, form).addresses).toEqual([
      { line1: "1 Main St", city: "Turda", primary: true },
      { line1: "2 Side St", city: "Iasi", primary: false },
    ]);
  });
});

describe("problems at the fields", () => {
  it("shows a rule over email and SMS at both fields", () => {
    const error = new ApiError(422, "Invalid input", "invalid input: email,sms", undefined, [
      { field: "email,sms", message: "a customer needs an email address or an SMS number" },
    ]);
    expect(fieldErrors(error)).toEqual({
      email: "a customer needs an email address or an SMS number",
      sms: "a customer needs an email address or an SMS number",
    });
  });

  it("places address fields, and what names no field of the form, on the form", () => {
    const error = new ApiError(422, "Invalid input", "", undefined, [
      { field: "addresses.0.postal_code", message: "too long" },
      { field: "kind", message: "bad kind" },
      { field: null, message: "broken" },
    ]);
    expect(fieldErrors(error)).toEqual({ postal_code: "too long", form: "kind: bad kind; broken" });
    expect(fieldErrors(new ApiError(500, "Server error", "boom"))).toEqual({ form: "boom" });
  });

  it("knows a conflict", () => {
    expect(isConflict(new ApiError(409, "Conflict", "changed"))).toBe(true);
    expect(isConflict(new ApiError(412, "Precondition failed", ""))).toBe(true);
    expect(fieldErrors(new ApiError(409, "Conflict", "changed"))).toEqual({});
    expect(isConflict(new ApiError(422, "Invalid", ""))).toBe(false);
  });
});
