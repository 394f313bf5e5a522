export { Worker, type CrashPoint } from './worker.js';
export { runTask } from './task-runner.js';
