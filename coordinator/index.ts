export { Coordinator, type CoordinatorOptions } from './coordinator.js';
export { runJobLocally } from './local-runner.js';
export { buildOutputManifest, INDEX_SET_FORMAT } from './output-manifest.js';
