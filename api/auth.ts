import { createHmac, timingSafeEqual } from 'node:crypto';

/** True when `header` is "Bearer <token>" for the configured token (constant-time compare); always true with auth off. */
export function authorized(token: string | null, header: string | undefined): boolean {
  if (token === null) return true;
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!.trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The dashboard's session cookie, HttpOnly and SameSite=Strict (no other site's page can send it). Its
 * value is derived from the API token (an HMAC), never the token itself: a cookie read off a browser
 * does not give the bearer token that gRPC and scripts use.
 */
export const SESSION_COOKIE = 'sci_session';

/** The session cookie's value for a token. */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('sci-cluster dashboard session').digest('hex');
}

/** True when the request's cookies carry this token's session (always true with auth off). */
export function cookieAuthorized(token: string | null, cookieHeader: string | undefined): boolean {
  if (token === null) return true;
  const expected = Buffer.from(sessionValue(token));
  for (const part of (cookieHeader ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name !== SESSION_COOKIE) continue;
    const given = Buffer.from(value.join('='));
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
  return false;
}
