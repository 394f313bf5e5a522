import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../../config/index.js';
import { buildProgram } from '../../../cli/main.js';
import { REPO_ROOT, tempDir } from '../../support/paths.js';
import { writeFileSync } from 'node:fs';

const docs = (file: string) => parseAllDocuments(readFileSync(join(REPO_ROOT, 'deploy', 'kubernetes', file), 'utf8')).map((d) => d.toJSON() as Record<string, any>);

test('the Kubernetes config is a valid sci-cluster config', (t) => {
  const [configMap] = docs('config.yaml');
  const path = join(tempDir(t), 'sci.yaml');
  writeFileSync(path, configMap!.data['sci.yaml']);
  const config = loadConfig({ file: path });
  assert.equal(config.nats.replicas, 3);
  assert.equal(config.nats.servers.length, 3);
});

test('coordinator and worker pods run commands the CLI has', () => {
  const program = buildProgram();
  const names = (command: { commands: readonly { name(): string; commands: readonly unknown[] }[] }) => command.commands.map((c) => c.name());
  for (const doc of docs('sci.yaml').filter((d) => d.kind === 'Deployment')) {
    const args = doc.spec.template.spec.containers[0].args as string[];
    const [, , group, sub] = args;
    assert.ok(names(program).includes(group!), `${group} is a sci command`);
    const groupCommand = program.commands.find((c) => c.name() === group)!;
    assert.ok(names(groupCommand as never).includes(sub!), `${group} ${sub} is a sci command`);
  }
  const nats = docs('nats.yaml').find((d) => d.kind === 'StatefulSet')!;
  assert.equal(nats.spec.replicas, 3);
});
