/** Stream, bucket and subject names shared by the coordinator, workers and CLI. */
export const NAMES = {
  taskStream: 'SCI_TASKS',
  taskSubject: (stage: string) => `sci.tasks.${stage}`,
  taskSubjects: 'sci.tasks.>',
  workerConsumer: 'sci-workers',
  jobsBucket: 'sci_jobs',
  tasksBucket: 'sci_tasks',
  workersBucket: 'sci_workers',
  objectBucket: 'sci_files',
  submitSubject: 'sci.api.jobs.submit',
  /** Cancel and retry requests to the coordinator. */
  controlSubject: 'sci.api.jobs.control',
  /** The coordinator's broadcast that a job was cancelled: workers stop its running tasks. */
  jobCancelledSubject: 'sci.jobs.cancelled',
  healthSubject: 'sci.api.health',
  /** A worker that could not record a task's failure in KV reports it here; the coordinator records it. */
  taskFailedSubject: 'sci.coordinator.task-failed',
  progressSubject: (jobId: string) => `sci.progress.${jobId}`,
  progressAll: 'sci.progress.>',
} as const;
