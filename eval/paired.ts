import { seededRandom } from '../common/index.js';

/*
 * Paired comparisons of two systems over the same queries, as a retrieval
 * paper reports them (Smucker, Allan & Carterette 2007): per query the
 * difference of a metric, then
 *   signTest          wins / losses / ties and the exact two-sided binomial
 *                     p-value of wins against losses (ties dropped);
 *   pairedBootstrap   the mean difference with a percentile interval,
 *                     resampling queries with replacement within each group
 *                     (a group is one seed's queries: seeds are kept apart);
 * and, for a quantity measured once per checkpoint, Pearson's and Spearman's
 * correlation.
 */

export interface SignTest {
  wins: number;
  losses: number;
  ties: number;
  /** Exact two-sided binomial p-value of wins vs losses at 1/2 (1 when there are none). */
  p: number;
}

/** ln(k!) for k = 0..n. */
function logFactorials(n: number): Float64Array {
  const out = new Float64Array(n + 1);
  for (let k = 2; k <= n; k++) out[k] = out[k - 1]! + Math.log(k);
  return out;
}

/** The sign test of paired differences (positive = the first system better). */
export function signTest(differences: ArrayLike<number>): SignTest {
  let wins = 0;
  let losses = 0;
  let ties = 0;
  for (let i = 0; i < differences.length; i++) {
    const d = differences[i]!;
    if (d > 0) wins += 1;
    else if (d < 0) losses += 1;
    else ties += 1;
  }
  const n = wins + losses;
  if (n === 0) return { wins, losses, ties, p: 1 };
  // P(X ≤ min) under Binomial(n, 1/2), doubled: summed in log space so n in the tens of thousands stays exact.
  const lf = logFactorials(n);
  const low = Math.min(wins, losses);
  let tail = 0;
  for (let k = 0; k <= low; k++) tail += Math.exp(lf[n]! - lf[k]! - lf[n - k]! - n * Math.LN2);
  return { wins, losses, ties, p: Math.min(1, 2 * tail) };
}

export interface BootstrapInterval {
  mean: number;
  /** Percentile interval of the resampled means. */
  low: number;
  high: number;
  level: number;
  resamples: number;
}

/**
 * The mean of paired differences over all groups' queries, with a percentile
 * bootstrap interval: each resample draws every group's queries with
 * replacement (as many as it has) and takes the mean of all.
 */
export function pairedBootstrap(
  groups: ReadonlyArray<ArrayLike<number>>,
  options: { resamples?: number; level?: number; seed?: number } = {},
): BootstrapInterval {
  const resamples = options.resamples ?? 2000;
  const level = options.level ?? 0.95;
  const random = seededRandom(options.seed ?? 1);
  const total = groups.reduce((n, g) => n + g.length, 0);
  if (total === 0) return { mean: 0, low: 0, high: 0, level, resamples };
  let sum = 0;
  for (const g of groups) for (let i = 0; i < g.length; i++) sum += g[i]!;
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (const g of groups) for (let i = 0; i < g.length; i++) s += g[Math.floor(random() * g.length)]!;
    means[r] = s / total;
  }
  means.sort();
  const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))]!;
  return { mean: sum / total, low: at((1 - level) / 2), high: at(1 - (1 - level) / 2), level, resamples };
}

/** Pearson's correlation of two equally long series (0 when either is constant). */
export function pearson(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length) throw new RangeError(`pearson: ${xs.length} x values and ${ys.length} y values`);
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? 0 : sxy / Math.sqrt(sxx * syy);
}

/** Ranks 1..n, ties sharing their mean rank. */
function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const out = new Array<number>(values.length);
  for (let a = 0; a < order.length;) {
    let b = a;
    while (b + 1 < order.length && order[b + 1]!.v === order[a]!.v) b += 1;
    for (let k = a; k <= b; k++) out[order[k]!.i] = (a + b) / 2 + 1;
    a = b + 1;
  }
  return out;
}

/** Spearman's rank correlation (Pearson's over ranks, ties at their mean rank). */
export function spearman(xs: readonly number[], ys: readonly number[]): number {
  return pearson(ranks(xs), ranks(ys));
}
