import { createHash } from 'node:crypto';

/*
 * A configuration's fingerprint: sha-256 of its canonical JSON (object keys
 * sorted at every level, undefined fields dropped), so two records ran the
 * same configuration exactly when their fingerprints match, whatever order a
 * YAML file or a default put the keys in.
 */

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const field = (value as Record<string, unknown>)[key];
      if (field !== undefined) out[key] = canonical(field);
    }
    return out;
  }
  return value;
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonical(value));
}

/** 16 hex digits of sha-256 over the canonical JSON. */
export function configFingerprint(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16);
}
