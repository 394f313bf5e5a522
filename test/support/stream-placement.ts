import { connectNats } from '../../messaging/index.js';

/*
 * Run as a script inside a host (`node stream-placement.js SERVERS_JSON SEED CA`): prints each
 * stream's replicas, leader and peers, and the worker consumer's state, as JSON, for the multi-host
 * tests' messages.
 */
const [servers, seed, ca] = process.argv.slice(2);
const nc = await connectNats({
  servers: JSON.parse(servers!) as string[],
  name: 'sci-test-placement',
  security: { nkeySeedFile: seed!, tls: { caFile: ca! } },
});
const jsm = await nc.jetstreamManager();
const out: Array<{ stream: string; replicas: number; leader: string | undefined; peers: string[]; messages: number; seqs: string }> = [];
for await (const info of jsm.streams.list()) {
  out.push({
    stream: info.config.name,
    replicas: info.config.num_replicas,
    leader: info.cluster?.leader,
    peers: (info.cluster?.replicas ?? []).map((r) => `${r.name}${r.current ? '' : ' (behind)'}${r.offline ? ' (offline)' : ''}`),
    messages: info.state.messages,
    seqs: `${info.state.first_seq}..${info.state.last_seq}`,
  });
}
// The task queue's consumer: what a stalled job's tasks are doing (pending, out for ack, redelivered, waiting pulls).
const consumer = await jsm.consumers.info('SCI_TASKS', 'sci-workers').catch((err: Error) => ({ error: err.message }));
const summary =
  'error' in consumer
    ? consumer
    : {
        leader: consumer.cluster?.leader,
        pending: consumer.num_pending,
        ackPending: consumer.num_ack_pending,
        redelivered: consumer.num_redelivered,
        waiting: consumer.num_waiting,
        delivered: consumer.delivered.stream_seq,
        deliveredConsumerSeq: consumer.delivered.consumer_seq,
        ackFloor: consumer.ack_floor.stream_seq,
      };
process.stdout.write(`${JSON.stringify({ streams: out, workerConsumer: summary })}\n`);
await nc.close();
