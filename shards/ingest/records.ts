import type { RowKind } from '../reject-log.js';
import { excerpt, type IngestEvent, type Origin } from './types.js';

/*
 * Rows given as objects (a JSON line, a Parquet row): the corpus, query and
 * judgment records of the BEIR / Hugging Face layout, checked field by field;
 * a bad record becomes a rejection naming the field, with an excerpt.
 */

export function reject(
  out: IngestEvent[],
  origin: Origin,
  kind: RowKind,
  reason: Extract<IngestEvent, { type: 'reject' }>['reason'],
  message: string,
  text: string,
  chars: number,
): void {
  out.push({ ...origin, type: 'reject', kind, reason, message, excerpt: excerpt(text, chars) });
}

export function parseJsonObject(text: string, origin: Origin, kind: RowKind, chars: number, out: IngestEvent[]): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    reject(out, origin, kind, 'malformed_json', `not valid JSON: ${(err as Error).message}`, text, chars);
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    reject(out, origin, kind, 'not_an_object', 'expected a JSON object', text, chars);
    return null;
  }
  return value as Record<string, unknown>;
}

function idField(obj: Record<string, unknown>, field: string, text: string, origin: Origin, kind: RowKind, chars: number, out: IngestEvent[]): string | null {
  const value = obj[field];
  if (value === undefined || value === null || value === '') {
    reject(out, origin, kind, 'missing_field', `missing field "${field}"`, text, chars);
    return null;
  }
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'bigint') {
    reject(out, origin, kind, 'wrong_type', `field "${field}" must be a string or number`, text, chars);
    return null;
  }
  return String(value);
}

/** The string value, null when absent, undefined after rejecting a wrong type. */
function optionalString(
  obj: Record<string, unknown>,
  field: string,
  text: string,
  origin: Origin,
  kind: RowKind,
  chars: number,
  out: IngestEvent[],
): string | null | undefined {
  const value = obj[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') {
    reject(out, origin, kind, 'wrong_type', `field "${field}" must be a string`, text, chars);
    return undefined;
  }
  return value;
}

/** A corpus record: an id (the first of `idFields` present), title and text; text or title required. */
export function passageRecord(
  obj: Record<string, unknown>,
  idFields: readonly string[],
  origin: Origin,
  text: string,
  chars: number,
  out: IngestEvent[],
): void {
  const id = idField(obj, idFields.find((f) => obj[f] !== undefined && obj[f] !== null) ?? idFields[0]!, text, origin, 'passage', chars, out);
  if (id === null) return;
  const title = optionalString(obj, 'title', text, origin, 'passage', chars, out);
  const body = optionalString(obj, 'text', text, origin, 'passage', chars, out);
  if (title === undefined || body === undefined) return;
  if (body === null && title === null) {
    reject(out, origin, 'passage', 'missing_field', 'missing field "text"', text, chars);
    return;
  }
  out.push({ ...origin, type: 'passage', externalId: id, title: title ?? '', text: body ?? '' });
}

/** A query record: an id and a non-empty text; other fields are kept as extra. */
export function queryRecord(obj: Record<string, unknown>, idFields: readonly string[], origin: Origin, text: string, chars: number, out: IngestEvent[]): void {
  const idName = idFields.find((f) => obj[f] !== undefined && obj[f] !== null) ?? idFields[0]!;
  const id = idField(obj, idName, text, origin, 'query', chars, out);
  if (id === null) return;
  const body = optionalString(obj, 'text', text, origin, 'query', chars, out);
  if (body === undefined) return;
  if (body === null || body.trim() === '') {
    reject(out, origin, 'query', body === null ? 'missing_field' : 'empty_text', body === null ? 'missing field "text"' : 'empty query text', text, chars);
    return;
  }
  const { [idName]: _ignoredId, text: _ignoredText, ...extra } = obj;
  out.push({ ...origin, type: 'query', id, text: body, split: null, extra });
}

/** A judgment record: `query-id`, `corpus-id` and an integer `score`. */
export function qrelRecord(obj: Record<string, unknown>, split: string, origin: Origin, text: string, chars: number, out: IngestEvent[]): void {
  const queryId = idField(obj, 'query-id', text, origin, 'qrel', chars, out);
  if (queryId === null) return;
  const corpusId = idField(obj, 'corpus-id', text, origin, 'qrel', chars, out);
  if (corpusId === null) return;
  const score = Number(obj.score);
  if (obj.score === undefined || obj.score === null || !Number.isInteger(score)) {
    reject(out, origin, 'qrel', 'bad_score', `score ${JSON.stringify(String(obj.score))} is not an integer`, text, chars);
    return;
  }
  out.push({ ...origin, type: 'qrel', split, queryId, corpusId, score });
}
