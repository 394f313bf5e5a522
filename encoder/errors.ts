import { SciClusterError, type SciClusterErrorOptions } from '../common/index.js';

/** A checkpoint or external model folder is missing, unreadable or inconsistent. */
export class CheckpointError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('CHECKPOINT_INVALID', message, options, { retryable: false, status: 422 });
  }
}

/** Training data cannot be used as given (no training pairs, unknown split, ...). */
export class TrainingDataError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('TRAINING_DATA', message, options, { retryable: false, status: 422 });
  }
}

/** The requested inference engine or execution provider cannot run here, or cannot run this model folder. */
export class EncoderEngineError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('ENCODER_ENGINE', message, options, { retryable: false, status: 422 });
  }
}
