export { ConfigSchema, type Config, type IngestConfig } from './schema.js';
export { loadConfig, setPath, readYamlFile, overrideValue, applySetAssignments, ENV_PREFIX, type LoadConfigOptions } from './load.js';
export { ConfigError } from './errors.js';
