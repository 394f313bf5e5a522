import type { z } from 'zod';
import { ContractError, type SciClusterError, type SciClusterErrorOptions } from './errors.js';

export interface ContractOptions {
  /** Prefixes the message (what the value is). */
  what?: string;
  /** The field named when the problem is the value as a whole. @defaultValue 'value' */
  emptyField?: string;
  /** The typed error a violation becomes (its class says whose input broke the contract). @defaultValue ContractError */
  error?: new (message: string, options: SciClusterErrorOptions) => SciClusterError;
  /** Put before the field's path (the value is part of a larger one: `train.`, `pipeline.`). */
  fieldPrefix?: string;
  /** Name every issue in the message (`; `-separated), not only the first; the field is still the first's. */
  allIssues?: boolean;
  /** Where the value was read from, carried by the error. */
  file?: string;
  line?: number;
}

/**
 * A value that crossed a boundary, checked against its schema: the data, or
 * a typed error naming the first offending field (`emptyField` when the
 * problem is the value as a whole). `what` prefixes the message.
 */
export function parseContract<S extends z.ZodType>(schema: S, value: unknown, options: ContractOptions = {}): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = `${options.fieldPrefix ?? ''}${issue.path.join('.') || (options.emptyField ?? 'value')}`;
  const ErrorClass = options.error ?? ContractError;
  const described = options.allIssues
    ? parsed.error.issues.map((i) => `${options.fieldPrefix ?? ''}${i.path.join('.') || (options.emptyField ?? 'value')}: ${i.message}`).join('; ')
    : `${field}: ${issue.message}`;
  throw new ErrorClass(`${options.what ? `${options.what}: ` : ''}${described}`, {
    field,
    ...(options.file !== undefined ? { file: options.file } : {}),
    ...(options.line !== undefined ? { line: options.line } : {}),
  });
}

/** Message bytes as JSON, or undefined when they are not JSON (the schema then says what was expected). */
export function jsonOrUndefined(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
}
