import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigSchema, type Config } from './schema.js';
import { ConfigError } from './errors.js';

export const ENV_PREFIX = 'SCI_';

export interface LoadConfigOptions {
  /** YAML file; null = defaults only. */
  file?: string | null;
  /** Environment to read `SCI_SECTION__KEY` overrides from (pass `process.env`). */
  env?: Record<string, string | undefined>;
  /** Already-parsed overrides applied last (CLI flags). */
  overrides?: Record<string, unknown>;
}

/**
 * Resolves the configuration: schema defaults < YAML file < environment <
 * explicit overrides. Environment keys map `SCI_INGEST__ROWS_PER_SHARD=5` to
 * `ingest.rowsPerShard: 5`; values are parsed as YAML scalars. Only names
 * with a `__` section separator are config paths, so other `SCI_*` variables
 * (SCI_CONFIG, SCI_DEMO_OUT) are left alone while a mistyped path is an error.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const file = options.file ?? null;
  const merged = file !== null ? readYamlFile(file, 'config file') : {};
  for (const [path, value] of envOverrides(options.env ?? {})) setPath(merged, path, value);
  for (const [key, value] of Object.entries(options.overrides ?? {})) setPath(merged, key.split('.'), value);

  const result = ConfigSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues), file === null ? {} : { file });
  return result.data;
}

/**
 * Every YAML file the CLI reads (the config, a training or pipeline config, an experiment grid, a job
 * spec): a mapping at the top (empty = {}), or a ConfigError naming the file and what it is.
 */
export function readYamlFile(file: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read the ${what}: ${(err as Error).message}`], { file, cause: err });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigError([`the ${what} is not valid YAML: ${(err as Error).message}`], { file, cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError([`the ${what}'s top level must be a mapping`], { file });
  return raw as Record<string, unknown>;
}

/**
 * The one override syntax, for `SCI_SECTION__KEY=value` and `--set path=value` alike: the value is read as
 * YAML (`5` a number, `true` a boolean, `null`, `[1, 2]`, `{a: 1}`, anything else the string itself).
 */
export function overrideValue(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return text;
  }
}

/** `--set path=value` assignments applied to a raw config object (dotted paths; values as `overrideValue` reads them). */
export function applySetAssignments(raw: Record<string, unknown>, assignments: readonly string[]): void {
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new ConfigError([`--set expects path=value, got ${JSON.stringify(assignment)}`]);
    setPath(raw, assignment.slice(0, eq).split('.'), overrideValue(assignment.slice(eq + 1)));
  }
}

function envOverrides(env: Record<string, string | undefined>): Array<[string[], unknown]> {
  const out: Array<[string[], unknown]> = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || !name.includes('__') || value === undefined) continue;
    const path = name
      .slice(ENV_PREFIX.length)
      .split('__')
      .map((part) => part.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()));
    out.push([path, overrideValue(value)]);
  }
  return out;
}

/** Path segments that would reach an object's prototype instead of a key of its own. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

/** Sets a nested key, creating the objects on the way (an array or scalar in the way is replaced); a path into a prototype is a ConfigError. */
export function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  const bad = path.find((key) => PROTOTYPE_KEYS.has(key));
  if (bad !== undefined) throw new ConfigError([`${path.join('.')}: "${bad}" is not a config key`]);
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    const at = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${at ? `${at}.` : ''}${key}: unknown key`);
    }
    return [`${at || '(root)'}: ${issue.message}`];
  });
}
