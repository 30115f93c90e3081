export * from './catalog.ts';
export * from './rules.ts';
export * from './schema.ts';
export { loadEstate, parseEstate, ConfigError, formatPath, type ConfigProblem } from './load.ts';
export { checkWarnings } from './references.ts';
export * from './alert.ts';
export { Registry, type RegisteredDevice } from './registry.ts';
export { readEnv, readMqttTls, EnvError, type ServiceEnv, type MqttTls } from './env.ts';
export * from './adapters.ts';
