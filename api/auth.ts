import { timingSafeEqual } from 'node:crypto';

/** True when `header` is "Bearer <token>" for the configured token (constant-time compare); always true with auth off. */
export function authorized(token: string | null, header: string | undefined): boolean {
  if (token === null) return true;
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!.trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The dashboard's session cookie: the API token, HttpOnly and SameSite=Strict (no other site's page can send it). */
export const SESSION_COOKIE = 'sci_token';

/** True when the request's cookies carry the token (always true with auth off). */
export function cookieAuthorized(token: string | null, cookieHeader: string | undefined): boolean {
  if (token === null) return true;
  for (const part of (cookieHeader ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name !== SESSION_COOKIE) continue;
    try {
      return authorized(token, `Bearer ${decodeURIComponent(value.join('='))}`);
    } catch {
      return false; // not URI-encoded: not a cookie this API set
    }
  }
  return false;
}
