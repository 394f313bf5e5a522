import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import { z } from 'zod';
import { parseContract, tempPathFor } from '../common/index.js';
import { ResultRecordError } from './errors.js';
import { configFingerprint } from './fingerprint.js';
import { ProvenanceSchema, sameCode, type Provenance } from './provenance.js';

/*
 * A result record: the data behind a published figure, committed under
 * docs/results/. The envelope is the same for every kind (which code ran, on
 * which machine, with which resolved configuration and seeds, how long it
 * took); `body` is the kind's own results, validated by its module. README
 * tables are rendered from records and a test compares them, so a figure
 * and the code that made it cannot drift apart unnoticed.
 */

export const RESULT_RECORD_FORMAT = 'sci-cluster/result-record@1';

export const ResultRecordSchema = z.strictObject({
  format: z.literal(RESULT_RECORD_FORMAT),
  kind: z.enum(['pipeline', 'experiment', 'bench']),
  /** The record's name (the pipeline or grid file's base name, the bench's). */
  name: z.string().min(1),
  /** The command that reproduces it. */
  command: z.string(),
  createdAt: z.string(),
  /** Every distinct code and machine that contributed (one entry when the whole record ran at one commit). */
  provenance: z.array(ProvenanceSchema).min(1),
  /** The resolved configuration: defaults filled in, so a changed default changes it. */
  config: z.unknown(),
  configFingerprint: z.string(),
  seeds: z.array(z.number().int()),
  /** Sum of the steps' wall times over every seed (work shared by seeds counted once). */
  wallSeconds: z.number(),
  body: z.unknown(),
});
export type ResultRecord = z.infer<typeof ResultRecordSchema>;

/** The provenance list with one entry per distinct code (commit, dirty), first seen first. */
export function distinctCode(provenance: readonly Provenance[]): Provenance[] {
  const out: Provenance[] = [];
  for (const p of provenance) if (!out.some((q) => sameCode(p, q))) out.push(p);
  return out;
}

/** The distinct code of a provenance list for a person: each commit's first 10 digits in backticks, "(dirty tree)" where it was. */
export function codeLabel(provenance: readonly Provenance[]): string {
  return distinctCode(provenance)
    .map((p) => `\`${p.commit?.slice(0, 10) ?? 'unknown'}\`${p.dirty ? ' (dirty tree)' : ''}`)
    .join(', ');
}

/** The one commit a record ran at, or an error naming why it has none: mixed commits, a dirty tree, no git checkout. */
export function recordCommit(record: Pick<ResultRecord, 'provenance' | 'name'>, options: { allowDirty?: boolean } = {}): string {
  const codes = distinctCode(record.provenance);
  if (codes.length > 1)
    throw new ResultRecordError(
      `record ${record.name} mixes code from ${codes.length} commits (${codes.map((p) => `${p.commit?.slice(0, 10) ?? 'unknown'}${p.dirty ? '+dirty' : ''}`).join(', ')}): rerun at one commit`,
    );
  const only = codes[0]!;
  if (only.commit === null) throw new ResultRecordError(`record ${record.name} was not made from a git checkout: its commit is unknown`);
  if (only.dirty && !options.allowDirty)
    throw new ResultRecordError(`record ${record.name} ran on a dirty tree at ${only.commit.slice(0, 10)}: commit first and rerun, or allow it explicitly`);
  return only.commit;
}

/**
 * A record's envelope around a kind's body: named after the file it describes, its provenance one entry per
 * distinct code, the config's fingerprint computed here, wall seconds to a tenth.
 */
export function resultRecord<B>(parts: {
  kind: ResultRecord['kind'];
  /** The pipeline or grid file (its base name names the record). */
  file: string;
  command: string;
  provenance: readonly Provenance[];
  config: unknown;
  seeds: readonly number[];
  wallSeconds: number;
  body: B;
}): ResultRecord & { body: B } {
  return {
    format: RESULT_RECORD_FORMAT,
    kind: parts.kind,
    name: basename(parts.file, extname(parts.file)),
    command: parts.command,
    createdAt: new Date().toISOString(),
    provenance: distinctCode(parts.provenance),
    config: parts.config,
    configFingerprint: configFingerprint(parts.config),
    seeds: [...parts.seeds],
    wallSeconds: Math.round(parts.wallSeconds * 10) / 10,
    body: parts.body,
  };
}

/** Writes a record through a temp name (a reader never sees half of one). */
export function writeResultRecord(file: string, record: ResultRecord): void {
  const checked = parseContract(ResultRecordSchema, record, { what: 'result record', emptyField: '(root)', error: ResultRecordError, file });
  mkdirSync(dirname(file), { recursive: true });
  const temp = tempPathFor(file);
  writeFileSync(temp, `${JSON.stringify(checked, null, 2)}\n`);
  renameSync(temp, file);
}

/** Reads a record and validates its envelope, then its body with the kind's schema. */
export function readResultRecord<B extends z.ZodType>(file: string, body: B): ResultRecord & { body: z.infer<B> } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ResultRecordError(`cannot read result record: ${(err as Error).message}`, { file, cause: err });
  }
  const record = parseContract(ResultRecordSchema, raw, { what: 'result record', emptyField: '(root)', error: ResultRecordError, file });
  const parsed = parseContract(body, record.body, {
    what: `${record.kind} record body`,
    emptyField: 'body',
    fieldPrefix: 'body.',
    error: ResultRecordError,
    file,
  });
  return { ...record, body: parsed };
}
