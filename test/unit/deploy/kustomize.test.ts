import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { NATS_ROLES } from '../../../access/index.js';
import { runSci } from '../../support/cli.js';
import { tempDir } from '../../support/paths.js';
import { assertValidManifests, byKindAndName, K8S_DIR, kustomize, kustomizeAvailable, parseManifests, type K8sObject } from '../../support/k8s.js';

/*
 * The kustomize overlays as an operator uses them: secrets made by
 * `sci cluster secrets` into the base's nats-secrets/, each overlay rendered
 * by kubectl's kustomize, every rendered object validated against the
 * Kubernetes API schemas, and the render checked against the overlay's own
 * values file (replicas, threads, resources, GPU placement).
 */

const available = kustomizeAvailable();
const skip = available.ok ? false : `${available.reason}: the overlays are not rendered here`;

/** A copy of deploy/kubernetes (without any local secrets) with fresh secrets in base/nats-secrets. */
async function withSecrets(t: { after: (fn: () => void) => void }): Promise<{ root: string; secrets: string }> {
  const root = join(tempDir(t), 'kubernetes');
  cpSync(K8S_DIR, root, { recursive: true, filter: (src) => !src.includes('nats-secrets') });
  const secrets = join(root, 'base', 'nats-secrets');
  const made = await runSci([
    'cluster',
    'secrets',
    '--out',
    secrets,
    '--host',
    'nats',
    '--host',
    'nats-0.nats',
    '--host',
    'nats-1.nats',
    '--host',
    'nats-2.nats',
  ]);
  assert.equal(made.code, 0, made.stderr);
  return { root, secrets };
}

const podOf = (doc: K8sObject) => doc.spec.template.spec as K8sObject;
const decoded = (secret: K8sObject, key: string) => Buffer.from(secret.data[key] as string, 'base64').toString('utf8');

for (const overlay of ['cpu', 'gpu']) {
  test(`the ${overlay} overlay renders valid objects with its worker values, the role Secrets every pod mounts, budgets and requests`, { skip }, async (t) => {
    const { root, secrets } = await withSecrets(t);
    const rendered = kustomize(join(root, 'overlays', overlay));
    assert.equal(rendered.status, 0, rendered.stderr);
    const documents = parseManifests(rendered.stdout, `overlays/${overlay} (rendered)`);
    const kinds = await assertValidManifests(documents);
    for (const kind of ['Deployment', 'StatefulSet', 'Service', 'ConfigMap', 'Secret', 'PersistentVolumeClaim', 'PodDisruptionBudget'])
      assert.ok(kinds.has(kind), kind);

    // The worker Deployment carries the overlay's values file.
    const values = parse(readFileSync(join(K8S_DIR, 'overlays', overlay, 'workers.yaml'), 'utf8')) as K8sObject;
    const worker = byKindAndName(documents, 'Deployment', 'sci-worker');
    const container = podOf(worker).containers[0] as K8sObject;
    const wanted = values.spec.template.spec.containers[0] as K8sObject;
    assert.equal(worker.spec.replicas, values.spec.replicas);
    assert.deepEqual(container.args, wanted.args);
    assert.deepEqual(container.resources, wanted.resources);
    // The GPU overlay runs the image with ONNX Runtime's CUDA provider (deploy/Dockerfile.gpu, a superset of the CPU one).
    assert.equal(container.image, overlay === 'gpu' ? 'sci-cluster:gpu' : 'sci-cluster:latest');
    assert.ok(
      container.env.some((e: K8sObject) => e.name === 'SCI_NATS__NKEY_SEED_FILE'),
      'the base container is patched, not replaced',
    );
    if (overlay === 'gpu') {
      assert.equal(podOf(worker).nodeSelector['nvidia.com/gpu.present'], 'true');
      assert.deepEqual(podOf(worker).tolerations, [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
      assert.equal(container.resources.limits['nvidia.com/gpu'], 1);
    } else {
      assert.equal(podOf(worker).nodeSelector, undefined);
      assert.equal(podOf(worker).tolerations, undefined);
    }

    // Every pod's Secret volume names a rendered Secret; role Secrets hold that role's seed and the CA.
    const ca = readFileSync(join(secrets, 'ca.pem'), 'utf8');
    const mounted: string[] = [];
    for (const { doc } of documents.filter((d) => d.doc.kind === 'Deployment' || d.doc.kind === 'StatefulSet'))
      for (const volume of (podOf(doc).volumes ?? []) as K8sObject[]) {
        if (!volume.secret) continue;
        const secret = byKindAndName(documents, 'Secret', volume.secret.secretName as string);
        mounted.push(secret.metadata.name as string);
        assert.equal(decoded(secret, 'ca.pem'), ca);
      }
    assert.deepEqual(mounted.sort(), ['sci-nats-coordinator', 'sci-nats-server', 'sci-nats-worker']);
    for (const role of NATS_ROLES.filter((r) => r !== 'admin' && r !== 'cli'))
      assert.equal(decoded(byKindAndName(documents, 'Secret', `sci-nats-${role}`), 'seed'), readFileSync(join(secrets, `${role}.nk`), 'utf8'), role);
    const server = byKindAndName(documents, 'Secret', 'sci-nats-server');
    assert.deepEqual(Object.keys(server.data).sort(), ['auth.conf', 'ca.pem', 'routes.conf', 'server-cert.pem', 'server-key.pem']);
    assert.match(decoded(server, 'auth.conf'), /\/etc\/nats\/auth\/server-cert\.pem/);
    // Routes: the StatefulSet's three peers with the route password, mutual TLS under the same CA, the route user.
    const routes = decoded(server, 'routes.conf');
    const password = readFileSync(join(secrets, 'route.secret'), 'utf8').trim();
    for (const peer of ['nats-0.nats', 'nats-1.nats', 'nats-2.nats']) assert.ok(routes.includes(`nats-route://route:${password}@${peer}:6222`), peer);
    assert.match(
      routes,
      /tls \{ cert_file: "\/etc\/nats\/auth\/server-cert\.pem", key_file: "\/etc\/nats\/auth\/server-key\.pem", ca_file: "\/etc\/nats\/auth\/ca\.pem", verify: true/,
    );
    assert.match(routes, new RegExp(`authorization \\{ user: "route", password: "${password}"`));
    const natsConf = byKindAndName(documents, 'ConfigMap', 'nats-config').data['nats.conf'] as string;
    assert.match(natsConf, /cluster \{[^}]*include "auth\/routes\.conf"/);
    assert.doesNotMatch(natsConf, /nats-route:\/\//, 'no route without its credentials in the ConfigMap');
    // Only the cluster's own pods reach NATS; routes only from NATS pods.
    const policy = byKindAndName(documents, 'NetworkPolicy', 'nats');
    assert.deepEqual(policy.spec.podSelector, { matchLabels: { app: 'nats' } });
    const ingress = policy.spec.ingress as K8sObject[];
    const portsOf = (rule: K8sObject) => (rule.ports as K8sObject[]).map((p) => p.port as number).sort();
    assert.deepEqual(ingress.map(portsOf), [[4222, 8222], [6222]]);
    assert.deepEqual(ingress[1]!.from, [{ podSelector: { matchLabels: { app: 'nats' } } }]);
    const clients = ingress[0]!.from[0].podSelector.matchExpressions[0].values as string[];
    for (const { doc } of documents.filter((d) => d.doc.kind === 'Deployment' || d.doc.kind === 'StatefulSet'))
      assert.ok(clients.includes(doc.spec.template.metadata.labels.app as string), `${doc.metadata.name} may reach NATS`);
    // The operator's key never goes into the cluster.
    assert.ok(!documents.some((d) => d.doc.kind === 'Secret' && /admin/.test(d.doc.metadata.name as string)));

    const budgets = documents.filter((d) => d.doc.kind === 'PodDisruptionBudget').map((d) => d.doc.spec.selector.matchLabels.app as string);
    assert.deepEqual(budgets.sort(), ['sci-coordinator', 'sci-worker']);
    for (const { doc } of documents.filter((d) => d.doc.kind === 'Deployment'))
      for (const c of podOf(doc).containers as K8sObject[]) assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory, doc.metadata.name);
  });
}

test('without the secrets, rendering fails naming the missing file', { skip }, (t) => {
  const root = join(tempDir(t), 'kubernetes');
  cpSync(K8S_DIR, root, { recursive: true, filter: (src) => !src.includes('nats-secrets') });
  const rendered = kustomize(join(root, 'overlays', 'cpu'));
  assert.notEqual(rendered.status, 0);
  assert.match(rendered.stderr, /nats-secrets\/auth\.conf/);
});

test('the secrets folder the base reads is kept out of git and out of the image', () => {
  for (const file of ['.gitignore', '.dockerignore']) {
    const lines = readFileSync(join(K8S_DIR, '..', '..', file), 'utf8').split('\n');
    assert.ok(
      lines.some((l) => l.replace(/^\/|\/$/g, '') === 'deploy/kubernetes/base/nats-secrets'),
      `${file} lists deploy/kubernetes/base/nats-secrets`,
    );
  }
});
