import { FatalTaskError, JobError, STAGE_NAMES, type JobSpec, type StageName } from '../jobs/index.js';
import { encodeJob } from './encode/job.js';
import { exportJob } from './export/export.js';
import { indexJob } from './index/job.js';
import { mineJob } from './mine/job.js';
import type { JobKind, Stage } from './stage.js';

/*
 * Every job kind and its stages, in order: the one list the coordinator,
 * the in-process runner, the worker and the pool thread read. A new stage
 * is a module under stages/<job kind>/ and a line here.
 */
export const JOB_KINDS: { readonly [K in JobSpec['kind']]: JobKind } = {
  encode: encodeJob,
  index: indexJob,
  mine: mineJob,
  export: exportJob,
};

const STAGES = new Map<StageName, Stage>(Object.values(JOB_KINDS).flatMap((kind) => kind.stages.map((stage) => [stage.name, stage] as const)));
// Every stage name a record may carry has its module (checked once, at load).
const missing = STAGE_NAMES.filter((name) => !STAGES.has(name));
if (missing.length > 0) throw new Error(`stage(s) ${missing.join(', ')} have no module in stages/registry.ts`);

export function stageNamed(name: StageName): Stage {
  const stage = STAGES.get(name);
  if (!stage) throw new FatalTaskError(`unknown task stage ${String(name)}`);
  return stage;
}

export function jobKindOf(spec: JobSpec): JobKind {
  const kind = JOB_KINDS[spec.kind];
  if (!kind) throw new JobError(`unknown job kind ${String(spec.kind)}`, { field: 'kind' });
  return kind;
}

/** The stages a job runs, in order (its kind's, less those its options leave out); option combinations no stage can run are refused. */
export function stagesOf(spec: JobSpec): StageName[] {
  const kind = jobKindOf(spec);
  kind.check(spec);
  return kind.stages.filter((stage) => stage.runsIn(spec)).map((stage) => stage.name);
}
