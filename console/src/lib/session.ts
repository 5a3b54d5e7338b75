/** The signed-in person: a bearer token and what it says about them (read, not verified: the
 * gateway verifies it on every call). Kept in sessionStorage: closing the tab signs out. */

export interface Person {
  user: string;
  role: string;
  teams: string[];
  expiresAt: number | null; // epoch seconds
}

const KEY = "cdp.token";

export function readClaims(token: string): Person | null {
  const parts = token.trim().split(".");
  if (parts.length !== 3) return null;
  try {
    const json = atob(parts[1].replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(json) as Record<string, unknown>;
    if (typeof claims.sub !== "string" || typeof claims.role !== "string") return null;
    return {
      user: claims.sub,
      role: claims.role,
      teams: Array.isArray(claims.teams) ? claims.teams.map(String) : [],
      expiresAt: typeof claims.exp === "number" ? claims.exp : null,
    };
  } catch {
    return null;
  }
}

export function isExpired(person: Person, nowSeconds = Date.now() / 1000): boolean {
  return person.expiresAt !== null && person.expiresAt <= nowSeconds;
}

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeToken(token: string | null): void {
  if (token) sessionStorage.setItem(KEY, token.trim());
  else sessionStorage.removeItem(KEY);
}
