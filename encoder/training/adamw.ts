import type * as Tf from '@tensorflow/tfjs';
import type { WeightSet } from '../model/index.js';
import type { TrainConfig } from './config.js';

/*
 * AdamW (Loshchilov & Hutter): Adam moments with bias correction and weight
 * decay applied to the weights directly, not through the gradient. No decay
 * on biases and LayerNorm parameters. Our own rather than tf.train.adam so
 * the moments can be checkpointed and restored exactly for resuming.
 */

export type OptimizerConfig = TrainConfig['optimizer'];

const noDecay = (name: string) => /\/(bias|gamma|beta)$/.test(name);

/** Learning rate at `step` (0-based): linear warm-up, then linear / cosine decay to 0 at `total`, or constant. */
export function learningRate(config: OptimizerConfig, step: number, total: number): number {
  const warmup = config.warmupSteps;
  if (step < warmup) return (config.lr * (step + 1)) / warmup;
  if (config.schedule === 'constant') return config.lr;
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return config.schedule === 'linear' ? config.lr * (1 - progress) : config.lr * 0.5 * (1 + Math.cos(Math.PI * progress));
}

export class AdamW {
  /** Updates applied so far. */
  t = 0;
  private readonly m = new Map<string, Tf.Variable>();
  private readonly v = new Map<string, Tf.Variable>();

  constructor(
    private readonly tf: typeof Tf,
    private readonly weights: WeightSet,
    private readonly config: OptimizerConfig,
  ) {
    for (const [name, w] of weights.entries) {
      if (!weights.isTrainable(name)) continue;
      this.m.set(name, tf.variable(tf.zerosLike(w), false));
      this.v.set(name, tf.variable(tf.zerosLike(w), false));
    }
  }

  /** One update from gradients keyed by weight name; returns the global gradient norm before clipping. */
  apply(grads: ReadonlyMap<string, Tf.Tensor>, lr: number): number {
    const tf = this.tf;
    const { beta1, beta2, epsilon, weightDecay, clipNorm } = this.config;
    const norm = Math.sqrt(tf.tidy(() => tf.addN([...grads.values()].map((g) => g.square().sum())).dataSync()[0]!));
    const scale = clipNorm > 0 && norm > clipNorm ? clipNorm / norm : 1;
    this.t += 1;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    tf.tidy(() => {
      for (const [name, w] of this.weights.entries) {
        const g0 = grads.get(name);
        if (!this.m.has(name)) continue;
        if (!g0) continue;
        const g = scale === 1 ? g0 : g0.mul(scale);
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        m.assign(m.mul(beta1).add(g.mul(1 - beta1)));
        v.assign(v.mul(beta2).add(g.square().mul(1 - beta2)));
        let update = m.div(c1).div(v.div(c2).sqrt().add(epsilon));
        if (weightDecay > 0 && !noDecay(name)) update = update.add(w.mul(weightDecay));
        w.assign(w.sub(update.mul(lr)));
      }
    });
    return norm;
  }

  /** Moments as named tensors ("m/<weight>", "v/<weight>") for a checkpoint. */
  stateTensors(): Map<string, Tf.Tensor> {
    const out = new Map<string, Tf.Tensor>();
    for (const [name, m] of this.m) out.set(`m/${name}`, m);
    for (const [name, v] of this.v) out.set(`v/${name}`, v);
    return out;
  }

  loadState(tensors: ReadonlyMap<string, { shape: number[]; data: Float32Array }>, t: number): void {
    for (const [prefix, store] of [
      ['m', this.m],
      ['v', this.v],
    ] as const) {
      for (const [name, variable] of store) {
        const saved = tensors.get(`${prefix}/${name}`);
        if (!saved || saved.shape.join('x') !== variable.shape.join('x')) throw new Error(`optimizer state ${prefix}/${name} is missing or has another shape`);
        const value = this.tf.tensor(saved.data, saved.shape);
        variable.assign(value);
        value.dispose();
      }
    }
    this.t = t;
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
  }
}
