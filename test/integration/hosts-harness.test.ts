import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '../support/paths.js';
import { HOSTS_SCRIPT, NamespaceHosts, hostsUnavailable, type Host } from '../support/hosts.js';

/*
 * The multi-host harness itself: hosts as network namespaces on one private switch reach each
 * other, the machine's own namespace does not reach them, a host can be cut off and plugged
 * back, and nothing (namespace, process, folder) outlives a close or a killed script run.
 */

const PORT = 7411;
const ECHO_SERVER = `
const server = require('node:net').createServer((socket) => {
  console.log('connection from ' + socket.remoteAddress);
  socket.pipe(socket);
});
server.listen(${PORT}, process.argv[1], () => console.log('listening'));
`;
// Exit 0 with the echo on stdout; 1 on a socket error; 2 when nothing answers within argv[2] ms.
const ECHO_CLIENT = `
const socket = require('node:net').connect(${PORT}, process.argv[1]);
socket.setTimeout(Number(process.argv[2]), () => { console.error('timeout'); process.exit(2); });
socket.on('connect', () => socket.write('ping'));
socket.on('data', (data) => { process.stdout.write(data); process.exit(0); });
socket.on('error', (err) => { console.error(err.code); process.exit(1); });
`;

function namespacesNamed(name: string): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((ns) => ns.startsWith(`${name}-`));
}

function commandPath(command: string): string {
  return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim();
}

/**
 * Sends 'ping' from the test's own (root) namespace; resolves with what came back ('' for nothing).
 * Not a failed connect: this machine's uplink answers a SYN to any address, so connects succeed.
 */
async function echoFromRoot(host: string, timeoutMs: number): Promise<string> {
  const socket = connect(PORT, host);
  let received = '';
  socket.on('connect', () => socket.write('ping'));
  socket.on('data', (data) => (received += String(data)));
  socket.on('error', () => {});
  await Promise.race([once(socket, 'close'), sleep(timeoutMs)]);
  socket.destroy();
  return received;
}

test(
  'three namespace hosts: TCP between them, unreachable from the machine, cut off and back, nothing left after close',
  { skip: hostsUnavailable() ?? false, timeout: 30_000 },
  async (t) => {
    const hosts = await NamespaceHosts.create(3);
    t.after(() => hosts.close());
    const [h1, h2, h3] = hosts.hosts as [Host, Host, Host];
    assert.equal(new Set(hosts.hosts.map((h) => h.address)).size, 3);
    assert.match(h1.address, /^10\.213\.\d+\.11$/);
    assert.equal(h2.address.replace(/\d+$/, ''), h1.address.replace(/\d+$/, ''), 'one /24');

    const server = hosts.spawn(h3, process.execPath, ['-e', ECHO_SERVER, h3.address]);
    let serverOut = '';
    server.stdout!.setEncoding('utf8').on('data', (chunk: string) => (serverOut += chunk));
    await once(server.stdout!, 'data');
    assert.match(serverOut, /listening/);

    const echoFromH1 = (timeoutMs: number) => hosts.execIn(h1, process.execPath, ['-e', ECHO_CLIENT, h3.address, String(timeoutMs)]);
    const echoed = await echoFromH1(5000);
    assert.deepEqual([echoed.code, echoed.stdout], [0, 'ping'], echoed.stderr);

    // The subnet exists only among the namespaces: no address on it here, and no way in.
    const rootAddresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
    assert.ok(!rootAddresses.some((a) => a.startsWith('10.213.')), rootAddresses.join(' '));
    assert.equal(await echoFromRoot(h3.address, 1000), '');
    const callers = [...serverOut.matchAll(/connection from (\S+)/g)].map((m) => m[1]);
    assert.deepEqual(callers, [h1.address], 'only host 1 ever reached the server');

    await hosts.linkDown(h3);
    const started = Date.now();
    const cutOff = await echoFromH1(1000);
    assert.notEqual(cutOff.code, 0, `reached a host that was cut off: ${cutOff.stdout}`);
    assert.ok(Date.now() - started < 5000);

    await hosts.linkUp(h3);
    // The port comes back at once (no STP on the switch), but the host's eth0 sees carrier a moment later.
    let back = await echoFromH1(1000);
    for (let tries = 0; back.code !== 0 && tries < 5; tries++) back = await echoFromH1(1000);
    assert.deepEqual([back.code, back.stdout], [0, 'ping'], back.stderr);

    const dirs = hosts.hosts.map((h) => h.dir);
    assert.ok(dirs.every((dir) => existsSync(dir)));
    await hosts.close();
    await hosts.close();
    assert.ok(server.exitCode !== null || server.signalCode !== null, 'the echo server was killed');
    assert.deepEqual(namespacesNamed(hosts.name), []);
    assert.deepEqual(
      dirs.filter((dir) => existsSync(dir)),
      [],
    );
  },
);

test(
  'netns-hosts.sh run: the command sees the addresses; nothing is left after it ends or is interrupted',
  { skip: hostsUnavailable() ?? false, timeout: 30_000 },
  async () => {
    // Names under scih-<pid>- so a later NamespaceHosts.create removes them should this test die midway.
    const name = `scih-${process.pid}-script`;
    const run = spawnSync('bash', [HOSTS_SCRIPT, 'run', '2', '--name', name, '--', 'sh', '-c', 'echo $HOSTS_NAME $HOSTS_ADDRS'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout.trim(), new RegExp(`^${name} 10\\.213\\.(\\d+)\\.11 10\\.213\\.\\1\\.12$`));
    assert.deepEqual(namespacesNamed(name), []);

    const interrupted = `scih-${process.pid}-sigint`;
    // The command prints its pid, then leaves a process inside a host and sleeps in the root namespace.
    const script = `echo $$; ip netns exec ${interrupted}-h1 sleep 60 & exec sleep 60`;
    const child = spawn('bash', [HOSTS_SCRIPT, 'run', '1', '--name', interrupted, '--', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = once(child, 'exit');
    const [pidLine] = (await once(child.stdout, 'data')) as [Buffer];
    const commandPid = Number(String(pidLine).trim());
    assert.ok(Number.isInteger(commandPid), String(pidLine));
    assert.equal(namespacesNamed(interrupted).length, 2);
    const started = Date.now();
    child.kill('SIGINT');
    const [code, signal] = await exited;
    assert.ok(signal === 'SIGINT' || code === 130, `exit ${code} ${signal}: ${stderr}`);
    assert.ok(Date.now() - started < 5000, 'handled at once, not after the sleep');
    assert.deepEqual(namespacesNamed(interrupted), []);
    assert.throws(() => process.kill(commandPid, 0), { code: 'ESRCH' }, 'the command was killed with the run');
  },
);

test('netns-hosts.sh prints usage on -h, and refuses with exit 2 and the reason when it cannot make namespaces', (t) => {
  const help = spawnSync('bash', [HOSTS_SCRIPT, '-h'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /usage: netns-hosts\.sh up N/);

  const root = process.getuid?.() === 0;
  // A PATH with only `id` on it: no ip command (which a non-root caller is refused before).
  const bin = tempDir(t);
  symlinkSync(commandPath('id'), join(bin, 'id'));
  const noIp = spawnSync(commandPath('bash'), [HOSTS_SCRIPT, 'up', '1'], { encoding: 'utf8', env: { PATH: bin } });
  assert.equal(noIp.status, 2, noIp.stderr);
  assert.match(noIp.stderr, root ? /'ip' command .* not installed/ : /must run as root/);

  if (root && spawnSync('setpriv', ['--version']).status === 0) {
    // A copy anyone can read: the checkout may lie under a folder only root may enter (a mktemp clone).
    const open = mkdtempSync(join(tmpdir(), 'sci-hosts-script-'));
    t.after(() => rmSync(open, { recursive: true, force: true }));
    chmodSync(open, 0o755);
    const script = join(open, 'netns-hosts.sh');
    copyFileSync(HOSTS_SCRIPT, script);
    chmodSync(script, 0o755);
    const asNobody = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', script, 'up', '1'], { encoding: 'utf8' });
    assert.equal(asNobody.status, 2, asNobody.stderr);
    assert.match(asNobody.stderr, /must run as root/);
  }
});
