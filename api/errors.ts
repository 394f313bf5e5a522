import { SciClusterError } from '../common/errors.js';
import { SearchRequestError, SearchUnavailableError } from '../search/index.js';

/** An API failure with its HTTP status (gRPC maps the same codes). */
export class ApiError extends SciClusterError {
  constructor(readonly status: number, code: string, message: string, field?: string) {
    super(code, message, field ? { field } : {});
  }
}

/** The HTTP status of any error thrown while answering. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof SearchRequestError) return new ApiError(400, err.code, err.message, err.field ?? undefined);
  if (err instanceof SearchUnavailableError) return new ApiError(503, err.code, err.message);
  if (err instanceof SciClusterError && err.code === 'USAGE') return new ApiError(400, 'BAD_REQUEST', err.message, err.field ?? undefined);
  return new ApiError(500, 'INTERNAL', (err as Error).message ?? String(err));
}
