import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Checks that a server trying to join as a route was refused for `reason` and holds no route.
 * nats-server logs "Route connection created" for the TCP connection before it checks anything,
 * so every one the rogue made must have been closed again; the reason may be logged on either side.
 * Returns the counts, for the test's diagnostics.
 */
/** A nats-server whose log can be read (a NatsServerProcess, or one a test started from a config of its own). */
export interface LoggingServer {
  name: string;
  log(): string;
}

export async function assertRouteRefused(rogue: LoggingServer, members: readonly LoggingServer[], reason: RegExp): Promise<string> {
  const count = () => {
    const log = rogue.log();
    return { log, created: log.match(/Route connection created/g)?.length ?? 0, closed: log.match(/(Route|Router) connection closed/g)?.length ?? 0 };
  };
  let seen = count();
  // An attempt caught between its two lines is closed a moment later.
  if (seen.created > seen.closed) {
    await sleep(500);
    seen = count();
  }
  assert.ok(seen.closed > 0 && seen.created <= seen.closed, `${rogue.name}: a route stayed open (${seen.created} created, ${seen.closed} closed)`);
  assert.match(seen.log + members.map((m) => m.log()).join(''), reason, `${rogue.name} refused for the expected reason`);
  assert.match(seen.log, /Waiting for routing to be established/, `${rogue.name} never got a route`);
  return `${rogue.name}: ${seen.created} route connections, ${seen.closed} closed`;
}

/** Why a route is refused: a wrong password, or a certificate the cluster's CA did not sign. */
export const REFUSED = { password: /Authorization Violation/, certificate: /TLS route handshake error|certificate/i } as const;
