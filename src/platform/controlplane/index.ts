/** The Control Plane driver: replica discovery, the platform, cron workload jobs and the REST client. */
export { ControlPlanePlatform, type ControlPlanePlatformOptions } from './controlplane-platform.js';
export { ControlPlaneJobs, JOB_ID_ENV, commandIdFromLocation, phaseOf, type ControlPlaneJobsOptions } from './jobs.js';
export { CplnClient, authorizationHeader, retryAfterMs, type CplnClientOptions, type CplnRequest, type CplnResponse } from './client.js';
export {
  discoverReplicas,
  observeDeployments,
  observeWorkload,
  planReplicaCount,
  probeReplica,
  replicaNode,
  replicaNodes,
  workloadPath,
  type DiscoveryReport,
  type ReplicaProbe,
  type ReplicaState,
  type WorkloadFacts,
} from './discovery.js';
