import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorized, cookieAuthorized, SESSION_COOKIE, sessionValue } from '../../../api/auth.js';

const TOKEN = 'unit-test-token-0123456789';

test('the session cookie carries a value derived from the token, never the token: the token as a cookie is refused', () => {
  const session = sessionValue(TOKEN);
  assert.notEqual(session, TOKEN);
  assert.doesNotMatch(session, new RegExp(TOKEN));
  assert.equal(cookieAuthorized(TOKEN, `a=b; ${SESSION_COOKIE}=${session}`), true);
  assert.equal(cookieAuthorized(TOKEN, `${SESSION_COOKIE}=${TOKEN}`), false, 'a stolen bearer token is no session');
  assert.equal(cookieAuthorized(TOKEN, `${SESSION_COOKIE}=${sessionValue('another-token-0123456789')}`), false);
  assert.equal(cookieAuthorized(TOKEN, `${SESSION_COOKIE}=%E0%A4%A`), false);
  assert.equal(cookieAuthorized(TOKEN, undefined), false);
  // And the cookie value is no bearer token.
  assert.equal(authorized(TOKEN, `Bearer ${session}`), false);
  assert.equal(authorized(TOKEN, `Bearer ${TOKEN}`), true);
});
