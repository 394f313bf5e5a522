import { SciClusterError, type SciClusterErrorOptions } from '../common/index.js';

/** nats-server could not be started, or a connection or stream setup failed. */
export class MessagingError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('MESSAGING', message, options, { retryable: true, status: 503 });
  }
}
