/** RFC 9457 problem details as the console holds them (no browser globals: unit-testable). */

/** One field at fault in a validation problem; `field` may name several ("email,sms"). */
export interface FieldProblem {
  field: string | null;
  message: string;
  type?: string;
}

/** RFC 9457 problem details, as the gateway answers errors. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly field?: string,
    readonly errors: FieldProblem[] = [],
  ) {
    super(detail || title);
  }
}
