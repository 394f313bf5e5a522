import { mixSeed, seededRandom, shuffleInPlace } from '../../common/index.js';
import type { TrainingPair } from './data.js';

/*
 * The batch order, a pure function of (seed, epoch): so a resumed run sees
 * exactly the batches the uninterrupted one would have. No two pairs in a
 * batch share a positive passage (WordNet has several queries per synset;
 * in-batch InfoNCE would otherwise push a query away from its own answer).
 * A conflicting pair waits for a later batch; the epoch's last partial batch
 * is dropped (a different one each epoch).
 */

export function epochBatches(pairs: readonly TrainingPair[], batchSize: number, seed: number, epoch: number): number[][] {
  const order = shuffleInPlace(Array.from(pairs.keys()), seededRandom(mixSeed(seed, epoch)));
  const batches: number[][] = [];
  let current: number[] = [];
  let used = new Set<number>();
  let waiting: number[] = [];
  const offer = (i: number): boolean => {
    const positive = pairs[i]!.positive;
    if (used.has(positive)) return false;
    used.add(positive);
    current.push(i);
    if (current.length === batchSize) {
      batches.push(current);
      current = [];
      used = new Set();
      const retry = waiting;
      waiting = [];
      for (const w of retry) if (!offer(w)) waiting.push(w);
    }
    return true;
  };
  for (const i of order) if (!offer(i)) waiting.push(i);
  return batches;
}

/** Step → batch, across epochs, computing each epoch's order once. */
export class BatchSchedule {
  private epoch = -1;
  private batches: number[][] = [];
  private firstStep = 0;

  constructor(
    private readonly pairs: readonly TrainingPair[],
    private readonly batchSize: number,
    private readonly seed: number,
  ) {
    if (pairs.length < batchSize) throw new RangeError(`batch size ${batchSize} is larger than the ${pairs.length} training pairs`);
  }

  batchAt(step: number): { epoch: number; pairs: number[] } {
    if (step < this.firstStep) {
      this.epoch = -1;
      this.batches = [];
      this.firstStep = 0;
    }
    while (step >= this.firstStep + this.batches.length) {
      this.firstStep += this.batches.length;
      this.epoch += 1;
      this.batches = epochBatches(this.pairs, this.batchSize, this.seed, this.epoch);
      if (this.batches.length === 0) throw new RangeError('no full batch can be formed without repeating a positive passage');
    }
    return { epoch: this.epoch, pairs: this.batches[step - this.firstStep]! };
  }
}
