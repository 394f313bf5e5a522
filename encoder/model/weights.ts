import type * as Tf from '@tensorflow/tfjs';

let instances = 0;

/**
 * The named trainable weights of one model. Names are stable ("query/proj/kernel")
 * and used in checkpoints; the tfjs variable names get a per-instance prefix
 * because the engine refuses two variables of the same name in one process.
 */
export class WeightSet {
  private readonly byName = new Map<string, Tf.Variable>();
  private readonly frozen = new Set<string>();
  private readonly prefix = `m${++instances}/`;
  private seed: number;

  constructor(
    private readonly tf: typeof Tf,
    seed: number,
  ) {
    this.seed = seed;
  }

  /** Restarts the seed sequence: separate towers start as identical copies (as DPR's two BERTs do). */
  restartSeed(seed: number): void {
    this.seed = seed;
  }

  normal(name: string, shape: number[], stddev: number): Tf.Variable {
    return this.add(name, this.tf.randomNormal(shape, 0, stddev, 'float32', this.seed++));
  }

  constant(name: string, shape: number[], value: number, options: { trainable?: boolean } = {}): Tf.Variable {
    return this.add(name, this.tf.fill(shape, value), options);
  }

  /** `trainable: false` for values set from data (corpus statistics): saved in checkpoints, never optimised. */
  add(name: string, initial: Tf.Tensor, options: { trainable?: boolean } = {}): Tf.Variable {
    if (this.byName.has(name)) throw new Error(`weight ${name} defined twice`);
    const trainable = options.trainable ?? true;
    const variable = this.tf.variable(initial, trainable, `${this.prefix}${name}`);
    initial.dispose();
    this.byName.set(name, variable);
    if (!trainable) this.frozen.add(name);
    return variable;
  }

  isTrainable(name: string): boolean {
    return this.byName.has(name) && !this.frozen.has(name);
  }

  get(name: string): Tf.Variable {
    const v = this.byName.get(name);
    if (!v) throw new Error(`no weight named ${name}`);
    return v;
  }

  /** Checkpoint name of a tfjs variable name (as keys of tf.variableGrads). */
  nameOf(variableName: string): string {
    return variableName.startsWith(this.prefix) ? variableName.slice(this.prefix.length) : variableName;
  }

  /** Every weight, trainable or not (what a checkpoint holds). */
  get entries(): ReadonlyMap<string, Tf.Variable> {
    return this.byName;
  }

  /** The trainable weights (what gradients are taken for). */
  get variables(): Tf.Variable[] {
    return [...this.byName].filter(([name]) => !this.frozen.has(name)).map(([, v]) => v);
  }

  dispose(): void {
    for (const v of this.byName.values()) v.dispose();
    this.byName.clear();
    this.frozen.clear();
  }
}
