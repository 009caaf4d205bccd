/**
 * fraudflow configuration: the environment, parsed once with zod. `env.ts` declares the variables and their
 * defaults, `types.ts` the parsed shape, `load.ts` the parsing and its error report.
 */
export { Env, HostedProvider } from './env';
export { ConfigError, loadConfig, loadConfigOrExit } from './load';
export { ScoringPolicy } from './types';
export type { Config } from './types';
