import type { z } from 'zod';
import { ContractError } from './errors.js';

/**
 * A value that crossed a boundary, checked against its schema: the data, or
 * a ContractError naming the first offending field (`emptyField` when the
 * problem is the value as a whole). `what` prefixes the message.
 */
export function parseContract<S extends z.ZodType>(schema: S, value: unknown, options: { what?: string; emptyField?: string } = {}): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || (options.emptyField ?? 'value');
  throw new ContractError(`${options.what ? `${options.what}: ` : ''}${field}: ${issue.message}`, { field });
}

/** Message bytes as JSON, or undefined when they are not JSON (the schema then says what was expected). */
export function jsonOrUndefined(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
}
