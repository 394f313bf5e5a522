export { Coordinator, type CoordinatorOptions } from './coordinator.js';
export { runJobLocally } from './local-runner.js';
export { INDEX_SET_FORMAT } from '../shards/index.js';
