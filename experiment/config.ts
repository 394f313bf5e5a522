import { parseContract } from '../common/index.js';
import { z } from 'zod';
import { setPath } from '../config/index.js';
import { PipelineConfigSchema, type PipelineConfig } from '../pipeline/index.js';
import { ExperimentError } from './errors.js';

/*
 * `sci experiment run GRID.yaml`: a grid of pipeline runs. The grid file has
 * one base pipeline config (training, stages, evaluation, analysis) and
 * axes; every combination of axis values is a cell, run as its own pipeline
 * (own folder, own resumable state) with the seed-independent work (BM25,
 * the hashed baseline) shared by all cells.
 */

const AxisSchema = z.strictObject({
  /** Short name, used in cell folder names: w, aligner, ... */
  name: z.string().regex(/^[a-z][a-z0-9_]*$/),
  /** Dotted path into the base pipeline config, e.g. train.objective.distanceWeight. */
  key: z
    .string()
    .regex(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/, { error: 'expected a dotted path of config keys' })
    .refine((key) => !key.split('.').some((part) => part === '__proto__' || part === 'prototype' || part === 'constructor'), {
      error: 'expected config keys, not a prototype',
    }),
  values: z.array(z.unknown()).min(1),
  /** Labels of the values (default: the values as written). */
  labels: z.array(z.string().regex(/^[A-Za-z0-9_.+-]+$/)).optional(),
});

export const GridConfigSchema = z
  .strictObject({
    title: z.string().min(1),
    /** What the grid tests, shown at the top of the report. */
    description: z.string().default(''),
    /** Statements the report makes about the set-up (e.g. how separate towers are made to differ). */
    notes: z.array(z.string()).default([]),
    out: z.string().min(1),
    corpus: PipelineConfigSchema.shape.corpus,
    seed: z.number().int().default(1),
    /** The base pipeline config of every cell (without out, corpus and seed). */
    pipeline: z.record(z.string(), z.unknown()),
    axes: z.array(AxisSchema).min(1),
    /** Which trained rows of each cell the report shows: stage1 (in-batch) and/or the final stage, with their labels. */
    rows: z
      .array(z.strictObject({ stage: z.enum(['stage1', 'final']), label: z.string().min(1) }))
      .min(1)
      .default([{ stage: 'final', label: 'trained' }]),
  })
  .superRefine((grid, ctx) => {
    grid.axes.forEach((axis, i) => {
      if (axis.labels && axis.labels.length !== axis.values.length)
        ctx.addIssue({ code: 'custom', path: ['axes', i, 'labels'], message: `${axis.labels.length} labels for ${axis.values.length} values` });
    });
  });
export type GridConfig = z.infer<typeof GridConfigSchema>;

export interface GridCell {
  /** Folder-safe: axis=label joined by commas, e.g. "w=0.6,negatives=three-stage". */
  name: string;
  labels: Record<string, string>;
  values: Record<string, unknown>;
  config: PipelineConfig;
}

const labelOf = (value: unknown): string =>
  (typeof value === 'string' ? value : value === null ? 'off' : JSON.stringify(value)).replace(/[^A-Za-z0-9_.+-]/g, '_');

/** Every combination of the axes' values, in axis order (the last axis varies fastest). */
export function gridCells(grid: GridConfig): GridCell[] {
  let combos: Array<Array<{ axis: number; value: number }>> = [[]];
  grid.axes.forEach((axis, a) => {
    combos = combos.flatMap((combo) => axis.values.map((_, v) => [...combo, { axis: a, value: v }]));
  });
  return combos.map((combo) => {
    const labels: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const raw = structuredClone(grid.pipeline);
    for (const { axis: a, value: v } of combo) {
      const axis = grid.axes[a]!;
      labels[axis.name] = axis.labels?.[v] ?? labelOf(axis.values[v]);
      values[axis.name] = axis.values[v];
      setPath(raw, axis.key.split('.'), structuredClone(axis.values[v]));
    }
    const name = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const cell = { ...raw, out: `${grid.out}/cells/${name}`, sharedOut: `${grid.out}/shared`, corpus: grid.corpus, seed: grid.seed };
    return {
      name,
      labels,
      values,
      config: parseContract(PipelineConfigSchema, cell, { what: `cell ${name}`, error: ExperimentError, fieldPrefix: 'pipeline.' }),
    };
  });
}
