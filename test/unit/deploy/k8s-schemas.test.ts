import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../support/paths.js';

/*
 * Every Kubernetes manifest under deploy/kubernetes checked against the
 * Kubernetes API's own OpenAPI schemas (the kubernetes-models package:
 * generated from them, validated with ajv): wrong types and missing required
 * fields fail. Unknown extra fields are not caught by
 * those schemas.
 */

const DIR = join(REPO_ROOT, 'deploy', 'kubernetes');

interface Validatable {
  validate(): void;
}

/** The kubernetes-models class of an apiVersion and kind (core group "v1" lives at the package root). */
async function modelOf(apiVersion: string, kind: string): Promise<new (data: unknown) => Validatable> {
  const module = (await import(`kubernetes-models/${apiVersion}/${kind}`)) as Record<string, new (data: unknown) => Validatable>;
  const model = module[kind];
  assert.ok(model, `kubernetes-models has no ${apiVersion} ${kind}`);
  return model;
}

const manifests = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((file) => parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d, i) => ({ file, i, doc: d.toJSON() as Record<string, any> })));

test('every Kubernetes manifest validates against the Kubernetes API schemas', async () => {
  assert.ok(manifests.length >= 11, `${manifests.length} manifests`);
  const kinds = new Set<string>();
  for (const { file, i, doc } of manifests) {
    const Model = await modelOf(doc.apiVersion as string, doc.kind as string);
    assert.doesNotThrow(() => new Model(doc).validate(), `${file} document ${i + 1} (${doc.kind} ${doc.metadata?.name})`);
    kinds.add(doc.kind as string);
  }
  for (const kind of ['Deployment', 'StatefulSet', 'Service', 'ConfigMap', 'PersistentVolumeClaim', 'Job', 'PodDisruptionBudget'])
    assert.ok(kinds.has(kind), kind);
});

test('the schemas catch broken manifests (wrong types, a missing required field)', async () => {
  const worker = manifests.find((m) => m.doc.kind === 'Deployment' && m.doc.metadata.name === 'sci-worker')!.doc;
  const Deployment = await modelOf('apps/v1', 'Deployment');
  const broken = (change: (d: Record<string, any>) => void) => {
    const copy = structuredClone(worker);
    change(copy);
    return () => new Deployment(copy).validate();
  };
  assert.throws(
    broken((d) => (d.spec.replicas = 'four')),
    /replicas must be integer/,
  );
  assert.throws(
    broken((d) => delete d.spec.template.spec.containers[0].name),
    /must have required property '?name'?/,
  );
  assert.throws(
    broken((d) => (d.spec.template.spec.containers[0].ports[0].containerPort = 'metrics')),
    /containerPort must be integer/,
  );
});

test('workers: GPU nodes selected and tolerated with a GPU requested; disruption budgets cover workers and the coordinator', () => {
  const gpu = manifests.find((m) => m.doc.metadata?.name === 'sci-worker-gpu')!.doc;
  const pod = gpu.spec.template.spec;
  assert.equal(pod.nodeSelector['nvidia.com/gpu.present'], 'true');
  assert.deepEqual(pod.tolerations[0], { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' });
  assert.equal(pod.containers[0].resources.limits['nvidia.com/gpu'], 1);
  const budgets = manifests.filter((m) => m.doc.kind === 'PodDisruptionBudget').map((m) => m.doc.spec.selector.matchLabels.app);
  assert.deepEqual(budgets.sort(), ['sci-coordinator', 'sci-worker']);
  // Every sci container asks for CPU and memory.
  for (const { doc } of manifests.filter((m) => m.doc.kind === 'Deployment' || m.doc.kind === 'Job'))
    for (const container of doc.spec.template.spec.containers)
      assert.ok(container.resources?.requests?.cpu && container.resources.requests.memory, doc.metadata.name);
});
