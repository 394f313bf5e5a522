import { connectNats } from '../../messaging/index.js';

/*
 * Run as a script inside a host (`node stream-placement.js SERVERS_JSON SEED CA`): prints each
 * stream's replicas, leader and peers as JSON, for the multi-host tests' messages.
 */
const [servers, seed, ca] = process.argv.slice(2);
const nc = await connectNats({
  servers: JSON.parse(servers!) as string[],
  name: 'sci-test-placement',
  security: { nkeySeedFile: seed!, tls: { caFile: ca! } },
});
const jsm = await nc.jetstreamManager();
const out: Array<{ stream: string; replicas: number; leader: string | undefined; peers: string[] }> = [];
for await (const info of jsm.streams.list()) {
  out.push({
    stream: info.config.name,
    replicas: info.config.num_replicas,
    leader: info.cluster?.leader,
    peers: (info.cluster?.replicas ?? []).map((r) => `${r.name}${r.current ? '' : ' (behind)'}${r.offline ? ' (offline)' : ''}`),
  });
}
process.stdout.write(`${JSON.stringify(out)}\n`);
await nc.close();
