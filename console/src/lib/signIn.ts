/** The sign-in forms' validation (the gateway checks again). */
import { isExpired, readClaims } from "./session";

export interface DevSignIn {
  user: string;
  role: string;
  teams: string;
}

export type Errors<T> = Partial<Record<keyof T, string>>;

const USER = /^[A-Za-z0-9._@-]{1,64}$/;
const TEAM = /^[A-Za-z0-9._-]{1,64}$/;

export function parseTeams(teams: string): string[] {
  return teams
    .split(/[\s,]+/)
    .map((t) => t.trim())
    .filter(Boolean);
}

export function validateDevSignIn(form: DevSignIn, roles: readonly string[]): Errors<DevSignIn> {
  const errors: Errors<DevSignIn> = {};
  if (!USER.test(form.user.trim()))
    errors.user = "A user name: letters, digits, dot, dash, underscore or @ (up to 64)";
  if (!roles.includes(form.role)) errors.role = `Pick a role: ${roles.join(", ")}`;
  const teams = parseTeams(form.teams);
  if (teams.length > 20) errors.teams = "At most 20 teams";
  else if (teams.some((t) => !TEAM.test(t))) errors.teams = "Team codes: letters, digits, dot, dash";
  return errors;
}

export function validatePastedToken(token: string, nowSeconds = Date.now() / 1000): string | null {
  const parts = token.trim().split(".");
  if (!token.trim()) return "Paste a bearer token";
  if (parts.length !== 3 || parts.some((p) => !p)) return "That is not a JSON Web Token";
  const person = readClaims(token);
  if (!person) return "The token names no user and role";
  if (isExpired(person, nowSeconds)) return "The token has expired";
  return null;
}
