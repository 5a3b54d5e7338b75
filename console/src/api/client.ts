/** The gateway's API, typed from its OpenAPI document (src/api/schema.ts is generated:
 * `npm run generate`). Every call carries the signed-in person's bearer token. */
import createClient, { type Middleware } from "openapi-fetch";

import { storedToken, storeToken } from "../lib/session";
import { ApiError, type FieldProblem } from "./problems";
import type { components, paths } from "./schema";

export { ApiError, type FieldProblem };

export type Schemas = components["schemas"];

let onSignedOut: () => void = () => {};
export function whenSignedOut(callback: () => void) {
  onSignedOut = callback;
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = storedToken();
    if (token) request.headers.set("authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) {
      storeToken(null);
      onSignedOut();
    }
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: location.origin });
api.use(auth);

/** The data of an answer, or an ApiError with the problem's title, detail and field. */
export async function unwrap<T>(
  answer: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await answer;
  if (response.ok && data !== undefined) return data;
  const problem = (error ?? {}) as {
    title?: string;
    detail?: string;
    field?: string;
    errors?: FieldProblem[];
  };
  throw new ApiError(
    response.status,
    problem.title ?? response.statusText,
    problem.detail ?? "",
    problem.field,
    Array.isArray(problem.errors) ? problem.errors : [],
  );
}

/** Save an export (CSV) the API streams: fetched with the token, then handed to the browser
 * as a download, since a plain link could not carry the Authorization header. */
export async function download(path: string, filename: string): Promise<void> {
  const response = await fetch(path, { headers: { authorization: `Bearer ${storedToken() ?? ""}` } });
  if (!response.ok) throw new ApiError(response.status, response.statusText, await response.text());
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** The customer search (GET /api/customers) with the criteria the quick search uses. */
export function searchCustomers(
  query: { q: string; limit: number; cursor?: string },
  signal: AbortSignal,
): Promise<Schemas["CustomerPage"]> {
  return unwrap(api.GET("/api/customers", { params: { query: { ...query, sort: "last_name" } }, signal }));
}
