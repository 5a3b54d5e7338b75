/** The gateway's API, typed from its OpenAPI document (src/api/schema.ts is generated:
 * `npm run generate`). Every call carries the signed-in person's bearer token. */
import createClient, { type Middleware } from "openapi-fetch";

import { storedToken, storeToken } from "../lib/session";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

/** RFC 9457 problem details, as the gateway answers errors. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly field?: string,
  ) {
    super(detail || title);
  }
}

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
  const problem = (error ?? {}) as { title?: string; detail?: string; field?: string };
  throw new ApiError(
    response.status,
    problem.title ?? response.statusText,
    problem.detail ?? "",
    problem.field,
  );
}

/** The customer search (GET /api/customers) with the criteria the quick search uses. */
export function searchCustomers(
  query: { q: string; limit: number; cursor?: string },
  signal: AbortSignal,
): Promise<Schemas["CustomerPage"]> {
  return unwrap(api.GET("/api/customers", { params: { query: { ...query, sort: "last_name" } }, signal }));
}
