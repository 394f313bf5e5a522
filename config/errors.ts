import { SciClusterError } from '../common/index.js';

/** One problem per entry, each naming its dotted path. */
export class ConfigError extends SciClusterError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[], options: { file?: string; cause?: unknown } = {}) {
    const where = options.file ? ` in ${options.file}` : '';
    super('CONFIG_INVALID', `invalid configuration${where}:\n  ${problems.join('\n  ')}`, options);
    this.problems = problems;
  }
}
