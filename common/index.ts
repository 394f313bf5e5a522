export * from './errors.js';
export * from './contract.js';
export * from './logger.js';
export * from './random.js';
export * from './metrics.js';
export * from './crash-policy.js';
export * from './temp-names.js';
