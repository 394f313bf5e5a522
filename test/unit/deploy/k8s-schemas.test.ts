import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { assertValidManifests, K8S_DIR, modelOf, readManifests } from '../../support/k8s.js';

/*
 * Every Kubernetes manifest file under deploy/kubernetes (the kustomize base
 * and the pipeline Job) checked against the Kubernetes API's own OpenAPI
 * schemas: wrong types and missing required fields fail. Unknown extra
 * fields are not caught by those schemas. The overlays' renders are checked
 * in kustomize.test.ts.
 */

const yamlIn = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .sort()
    .map((f) => join(dir, f));
const manifests = readManifests(...yamlIn(join(K8S_DIR, 'base')), ...yamlIn(K8S_DIR));

test('every Kubernetes manifest validates against the Kubernetes API schemas', async () => {
  assert.ok(manifests.length >= 10, `${manifests.length} manifests`);
  const kinds = await assertValidManifests(manifests);
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

test('disruption budgets cover workers and the coordinator; every sci container requests CPU and memory', () => {
  const budgets = manifests.filter((m) => m.doc.kind === 'PodDisruptionBudget').map((m) => m.doc.spec.selector.matchLabels.app);
  assert.deepEqual(budgets.sort(), ['sci-coordinator', 'sci-worker']);
  for (const { doc } of manifests.filter((m) => m.doc.kind === 'Deployment' || m.doc.kind === 'Job'))
    for (const container of doc.spec.template.spec.containers)
      assert.ok(container.resources?.requests?.cpu && container.resources.requests.memory, doc.metadata.name);
});
