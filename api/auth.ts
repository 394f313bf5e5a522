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
