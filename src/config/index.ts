/** Configuration: the only place that reads process.env (entry points pass `process.env` in). */
export { CONFIG_DOCS, CONTROLLER_SETTINGS, AGENT_SETTINGS, renderConfigDocs, type SettingDoc, type SettingScope } from './settings.js';
export { parseFlags, parseDurationMs, parseListen, SettingSource, type Env, type Flags, type ListenAddress, type ParsedArgs } from './source.js';
export { resolveToken, tokenFile, validateToken, type ResolvedToken, type TokenSource } from './token.js';
export { findOnPath, resolveBinariesFrom, type Binaries } from './binaries.js';
export { parseNodeList, DEFAULT_NODE_PORTS, type NodeDefaults } from './nodes.js';
export {
  loadControllerConfig,
  loadControllerToken,
  controllerUsage,
  CONTROLLER_FLAGS,
  LOG_LEVELS,
  type ControllerConfig,
  type ConfiguredPlatform,
  type LoadOptions,
  type LogFormat,
  type LogLevel,
} from './controller.js';
export { loadAgentConfig, agentLaunch, AGENT_FLAGS, type AgentConfig } from './agent.js';
export { loadImportStoreSettings, type ImportStoreSettings } from './import-sources.js';

/** The process environment, read here and nowhere else in library code. */
export function processEnv(): NodeJS.ProcessEnv {
  return process.env;
}
