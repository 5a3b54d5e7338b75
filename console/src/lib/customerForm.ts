/** Seed 004's manual entry as plain functions: the form's fields in the manual's order, the
 * body of a new customer, the changes of an edit, and the API's problem details placed at the
 * fields they name. The rule that an email or an SMS number is needed is the API's: its answer
 * (422 naming "email,sms") is shown at both fields, so the rule lives in one place. */
import { ApiError } from "../api/problems";
import type { components } from "../api/schema";

type CustomerCreate = components["schemas"]["CustomerCreate"];
type AddressInput = components["schemas"]["AddressInput"];

export const NAME_FIELDS = [
  ["salutation", "Salutation"],
  ["first_name", "First name"],
  ["middle_name", "Middle name"],
  ["last_name", "Last name"],
  ["organization", "Organization"],
  ["alt_customer_id", "Alt customer ID"],
] as const;
export const CONTACT_FIELDS = [
  ["email", "Email address"],
  ["sms", "SMS number"],
  ["phone", "Phone"],
  ["fax", "Fax"],
  ["alternate_phone", "Alternate phone"],
] as const;
export const ADDRESS_FIELDS = [
  ["line1", "Address 1"],
  ["line2", "Address 2"],
  ["city", "City"],
  ["state", "State"],
  ["postal_code", "Zip/Postal code"],
  ["province", "Province"],
  ["country", "Country"],
  ["brick", "Brick"],
] as const;

type Key<T extends readonly (readonly [string, string])[]> = T[number][0];
export type CustomerKey = Key<typeof NAME_FIELDS> | Key<typeof CONTACT_FIELDS> | "date_of_birth";
export type AddressKey = Key<typeof ADDRESS_FIELDS>;
export type ContentType = "short_text" | "html" | "text" | "unknown";

export interface CustomerForm {
  fields: Record<CustomerKey, string>;
  address: Record<AddressKey, string>;
  content_type: ContentType;
}

const CUSTOMER_KEYS: CustomerKey[] = [
  ...NAME_FIELDS.map(([k]) => k),
  ...CONTACT_FIELDS.map(([k]) => k),
  "date_of_birth",
];
const ADDRESS_KEYS: AddressKey[] = ADDRESS_FIELDS.map(([k]) => k);

export function emptyForm(): CustomerForm {
  return {
    fields: Object.fromEntries(CUSTOMER_KEYS.map((k) => [k, ""])) as Record<CustomerKey, string>,
    address: Object.fromEntries(ADDRESS_KEYS.map((k) => [k, ""])) as Record<AddressKey, string>,
    content_type: "unknown",
  };
}

type Address = Partial<Record<AddressKey, string | null>> & { primary?: boolean };
export interface StoredCustomer extends Partial<Record<CustomerKey, string | null>> {
  addresses: Address[];
  content_type?: ContentType;
}

/** The form holding a stored record (its primary address, or its first). */
export function formFromCustomer(customer: StoredCustomer): CustomerForm {
  const form = emptyForm();
  for (const k of CUSTOMER_KEYS) form.fields[k] = customer[k] ?? "";
  const address = customer.addresses.find((a) => a.primary) ?? customer.addresses[0];
  for (const k of ADDRESS_KEYS) form.address[k] = address?.[k] ?? "";
  form.content_type = customer.content_type ?? "unknown";
  return form;
}

const filled = (values: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(values)
      .map(([k, v]) => [k, v.trim()] as const)
      .filter(([, v]) => v !== ""),
  );

/** What POST /api/customers takes for the form: blank fields left out, the address (if any
 * part of it is given) as the primary one. */
export function createBody(form: CustomerForm): CustomerCreate {
  const address = filled(form.address);
  return {
    kind: "person",
    customer_type: "customer",
    external: false,
    ...filled(form.fields),
    content_type: form.content_type,
    // a missing line1 is the API's to refuse (422 naming addresses.0.line1: shown at Address 1)
    addresses: Object.keys(address).length ? [{ ...address, primary: true } as AddressInput] : [],
  };
}

/** What PATCH /api/customers/{id} takes: the changed fields only (a blanked one as null), and
 * the addresses again when the primary address changed (the others kept as they are). */
export function editPatch(customer: StoredCustomer, form: CustomerForm): Record<string, unknown> {
  const before = formFromCustomer(customer);
  const patch: Record<string, unknown> = {};
  for (const k of CUSTOMER_KEYS) {
    const value = form.fields[k].trim();
    if (value !== before.fields[k]) patch[k] = value === "" ? null : value;
  }
  if (form.content_type !== before.content_type) patch.content_type = form.content_type;
  const address = filled(form.address);
  if (ADDRESS_KEYS.some((k) => form.address[k].trim() !== before.address[k])) {
    const primary = customer.addresses.findIndex((a) => a.primary);
    const at = primary >= 0 ? primary : 0;
    const others = customer.addresses.filter((_, i) => i !== at || customer.addresses.length === 0);
    const kept = customer.addresses.length ? others : [];
    patch.addresses = Object.keys(address).length
      ? [{ ...address, primary: true }, ...kept.map((a) => ({ ...a, primary: false }))]
      : kept;
  }
  return patch;
}

/** Where each problem goes: a form field ("email", "city", ...) or "form" for the rest. A
 * problem naming several fields ("email,sms") is shown at each. */
export function fieldErrors(error: unknown): Record<string, string> {
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
      const parts = name.split(".").filter((p) => p !== "body" && !/^\d+$/.test(p));
      const key = parts[0] === "addresses" ? parts[1] : parts[0];
      const known = (CUSTOMER_KEYS as string[]).includes(key) || (ADDRESS_KEYS as string[]).includes(key);
      put(known ? key : "form", known ? problem.message : `${name}: ${problem.message}`);
    }
  }
  if (Object.keys(shown).length === 0 && error.status !== 409 && error.status !== 412) put("form", error.message);
  return shown;
}

/** The record changed since the version the form was loaded with. */
export function isConflict(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 409 || error.status === 412);
}
