import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './paths.js';

/*
 * Kubernetes manifests for the deploy tests: parsing, validation against the
 * Kubernetes API's own OpenAPI schemas (the kubernetes-models package,
 * generated from them and validated with ajv), and kustomize rendering.
 */

export const K8S_DIR = join(REPO_ROOT, 'deploy', 'kubernetes');

export type K8sObject = Record<string, any>;

export interface K8sDocument {
  /** Where it came from (a file under deploy/kubernetes, or an overlay's render). */
  source: string;
  index: number;
  doc: K8sObject;
}

export function parseManifests(text: string, source: string): K8sDocument[] {
  return parseAllDocuments(text)
    .map((d) => d.toJSON() as K8sObject | null)
    .filter((doc): doc is K8sObject => doc !== null)
    .map((doc, index) => ({ source, index, doc }));
}

export function readManifests(...files: string[]): K8sDocument[] {
  return files.flatMap((file) => parseManifests(readFileSync(file, 'utf8'), relative(K8S_DIR, file)));
}

interface Validatable {
  validate(): void;
}

/** The kubernetes-models class of an apiVersion and kind (core group "v1" lives at the package root). */
export async function modelOf(apiVersion: string, kind: string): Promise<new (data: unknown) => Validatable> {
  const module = (await import(`kubernetes-models/${apiVersion}/${kind}`)) as Record<string, new (data: unknown) => Validatable>;
  const model = module[kind];
  assert.ok(model, `kubernetes-models has no ${apiVersion} ${kind}`);
  return model;
}

/**
 * A Secret's data as the API server reads it: kustomize wraps base64 at 70
 * columns and Go's base64 decoder skips newlines, while the schema's "byte"
 * format does not allow them.
 */
function unwrapped(doc: K8sObject): K8sObject {
  if (doc.kind !== 'Secret' || !doc.data) return doc;
  return { ...doc, data: Object.fromEntries(Object.entries(doc.data as Record<string, string>).map(([k, v]) => [k, v.replace(/[\r\n]/g, '')])) };
}

/** Validates every document against its kind's schema; returns the kinds seen. */
export async function assertValidManifests(documents: K8sDocument[]): Promise<Set<string>> {
  const kinds = new Set<string>();
  for (const { source, index, doc } of documents) {
    const Model = await modelOf(doc.apiVersion as string, doc.kind as string);
    assert.doesNotThrow(() => new Model(unwrapped(doc)).validate(), `${source} document ${index + 1} (${doc.kind} ${doc.metadata?.name})`);
    kinds.add(doc.kind as string);
  }
  return kinds;
}

/**
 * kubectl's built-in kustomize when it is version 4 or later (the overlays use
 * `resources: [dir]` and `patches`), else null with the reason.
 */
export function kustomizeAvailable(): { ok: true } | { ok: false; reason: string } {
  const version = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return { ok: false, reason: 'kubectl is not installed (it carries kustomize)' };
  const match = /Kustomize Version: v(\d+)/.exec(version.stdout);
  if (!match || Number(match[1]) < 4)
    return { ok: false, reason: `kubectl's kustomize is older than v4 (${version.stdout.trim().replace(/\n/g, '; ')}); the overlays need v4 or later` };
  return { ok: true };
}

export function kustomize(dir: string): { status: number; stdout: string; stderr: string } {
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

export const byKindAndName = (documents: K8sDocument[], kind: string, name: string): K8sObject => {
  const found = documents.find((d) => d.doc.kind === kind && d.doc.metadata?.name === name);
  assert.ok(found, `no ${kind} ${name}`);
  return found.doc;
};
