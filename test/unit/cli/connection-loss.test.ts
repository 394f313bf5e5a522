import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/*
 * A long-running process whose NATS connection closes without its own close (the server refused it
 * for good) ends with exit code 70 and INFRASTRUCTURE_LOST logged first; one that closed it itself
 * (shutdown) does not. Run in a child: the policy ends the process.
 */

function runWith(ownClose: boolean) {
  const script = `
    const { exitOnConnectionLoss } = await import(${JSON.stringify(new URL('../../../cli/cluster-context.js', import.meta.url).href)});
    const { installCrashPolicy, createRootLogger } = await import(${JSON.stringify(new URL('../../../common/index.js', import.meta.url).href)});
    installCrashPolicy(createRootLogger({ pretty: false }));
    let lose;
    const nc = { closed: () => new Promise((resolve) => (lose = resolve)) };
    const handles = exitOnConnectionLoss({ nc, close: async () => lose(undefined) });
    if (${ownClose}) await handles.close();
    else lose(new Error('Authorization Violation'));
    await new Promise((r) => setTimeout(r, 200));
    process.stdout.write('still running\\n');`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
}

test('a NATS connection lost for good ends a long-running process with INFRASTRUCTURE_LOST (exit 70); its own close does not', () => {
  const lost = runWith(false);
  assert.equal(lost.status, 70, lost.stderr);
  assert.match(lost.stderr, /"code":"INFRASTRUCTURE_LOST".*the NATS connection closed: Authorization Violation/);
  assert.doesNotMatch(lost.stdout, /still running/);
  const closed = runWith(true);
  assert.equal(closed.status, 0, closed.stderr);
  assert.match(closed.stdout, /still running/);
});
