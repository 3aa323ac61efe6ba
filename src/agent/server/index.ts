export { createAgentApp, type AgentDeps } from './app.js';
export { startAgentServer, createAgentDeps, builtinKinds, type AgentServer, type StartAgentOptions } from './server.js';
export { validateAgentConfig, type AgentServerConfig, type AgentBinaries } from './config.js';
export { JobManager, JobFailure, type JobKind, type JobContext } from './jobs.js';
export { StartGateStore } from './start-gate.js';
export { parseGrastate, parseSearchdSection, parseManticoreJson } from './node-files.js';
export { tokenMatches } from './auth.js';
