import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../../config/index.js';
import { buildProgram } from '../../../cli/main.js';
import { REPO_ROOT, tempDir } from '../../support/paths.js';
import { writeFileSync } from 'node:fs';

const docs = (file: string) =>
  parseAllDocuments(readFileSync(join(REPO_ROOT, 'deploy', 'kubernetes', file), 'utf8')).map((d) => d.toJSON() as Record<string, any>);

test('the Kubernetes config is a valid sci-cluster config', (t) => {
  const [configMap] = docs('base/config.yaml');
  const path = join(tempDir(t), 'sci.yaml');
  writeFileSync(path, configMap!.data['sci.yaml']);
  const config = loadConfig({ file: path });
  assert.equal(config.nats.replicas, 3);
  assert.equal(config.nats.servers.length, 3);
});

test('coordinator and worker pods run commands the CLI has', () => {
  const program = buildProgram();
  const names = (command: { commands: readonly { name(): string; commands: readonly unknown[] }[] }) => command.commands.map((c) => c.name());
  for (const doc of docs('base/sci.yaml').filter((d) => d.kind === 'Deployment')) {
    const args = doc.spec.template.spec.containers[0].args as string[];
    const [, , group, sub] = args;
    assert.ok(names(program).includes(group!), `${group} is a sci command`);
    const groupCommand = program.commands.find((c) => c.name() === group)!;
    assert.ok(names(groupCommand as never).includes(sub!), `${group} ${sub} is a sci command`);
  }
  const nats = docs('base/nats.yaml').find((d) => d.kind === 'StatefulSet')!;
  assert.equal(nats.spec.replicas, 3);
});

test('every sci pod connects with its own role Secret, and NATS requires TLS and auth from sci cluster secrets', () => {
  const secrets = new Map<string, string>();
  for (const doc of docs('base/sci.yaml').filter((d) => d.kind === 'Deployment')) {
    const pod = doc.spec.template.spec;
    const env = Object.fromEntries((pod.containers[0].env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]));
    const mount = (pod.containers[0].volumeMounts as Array<{ name: string; mountPath: string }>).find((m) => m.name === 'nats')!;
    assert.equal(env.SCI_NATS__NKEY_SEED_FILE, `${mount.mountPath}/seed`);
    assert.equal(env.SCI_NATS__TLS__CA_FILE, `${mount.mountPath}/ca.pem`);
    const volume = (pod.volumes as Array<{ name: string; secret?: { secretName: string } }>).find((v) => v.name === 'nats')!;
    secrets.set(pod.containers[0].args[2], volume.secret!.secretName);
  }
  assert.deepEqual(Object.fromEntries(secrets), { coordinator: 'sci-nats-coordinator', worker: 'sci-nats-worker' });
  const [configMap] = docs('base/config.yaml');
  assert.ok((parseAllDocuments(configMap!.data['sci.yaml'])[0]!.toJSON() as { nats: { servers: string[] } }).nats.servers.every((s) => s.startsWith('tls://')));
  const natsConf = docs('base/nats.yaml').find((d) => d.kind === 'ConfigMap')!.data['nats.conf'] as string;
  assert.match(natsConf, /include "auth\/auth\.conf"/);
  const natsPod = docs('base/nats.yaml').find((d) => d.kind === 'StatefulSet')!.spec.template.spec;
  assert.equal(natsPod.volumes.find((v: { name: string }) => v.name === 'auth').secret.secretName, 'sci-nats-server');
  assert.equal(natsPod.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'auth').mountPath, '/etc/nats/auth');
});

test('the pipeline Job runs `sci pipeline run` as the pipeline role, on the shared volume, and is restarted to continue', () => {
  const [job] = docs('pipeline-job.yaml');
  assert.equal(job!.kind, 'Job');
  const pod = job!.spec.template.spec;
  assert.equal(pod.restartPolicy, 'OnFailure');
  const args = pod.containers[0].args as string[];
  assert.deepEqual(args.slice(2, 4), ['pipeline', 'run']);
  const program = buildProgram();
  const pipeline = program.commands.find((c) => c.name() === 'pipeline')!;
  assert.ok(pipeline.commands.some((c) => c.name() === 'run'));
  const volume = pod.volumes as Array<{ name: string; secret?: { secretName: string }; persistentVolumeClaim?: { claimName: string } }>;
  assert.equal(volume.find((v) => v.name === 'nats')!.secret!.secretName, 'sci-nats-pipeline');
  assert.equal(volume.find((v) => v.name === 'data')!.persistentVolumeClaim!.claimName, 'sci-data');
});
