/**
 * Galera-style replication of the simulator, as Manticore exposes it (stub; being implemented).
 */
import type { Logger } from '../../lib/logger.js';
import type { ClusterService, ClusterStatement, PersistedCluster, ReplicatedWrite, SimEngine, SqlResult } from '../contract.js';
import { SqlError } from '../contract.js';
import type { FaultState } from '../net/faults.js';
import type { PeerTransport } from '../net/peer.js';

export interface ClusterTiming {
  heartbeatMs: number;
  evictMs: number;
}

export const DEFAULT_TIMING: ClusterTiming = { heartbeatMs: 200, evictMs: 1500 };

export interface ClusterManagerOptions {
  /** the node's data_dir (grastate.dat and the position file live here) */
  dataDir: string;
  /** node_address:api port as peers see it ("127.0.0.1:9312") */
  apiAddress: string;
  /** node_address:replication port ("127.0.0.1:9350") */
  replicationAddress: string;
  serverId: number;
  transport: PeerTransport;
  engine: SimEngine;
  faults: FaultState;
  logger: Logger;
  /** called whenever persistedClusters() changes; the node rewrites manticore.json */
  onPersist: () => void;
  timing?: Partial<ClusterTiming>;
}

export class ClusterManager implements ClusterService {
  constructor(private readonly opts: ClusterManagerOptions) {}

  async start(_persisted: Record<string, PersistedCluster>, _flags: { newCluster: boolean; newClusterForce: boolean }): Promise<void> {}
  async stop(): Promise<void> {}
  clusterOfTable(_table: string): string | undefined {
    return undefined;
  }
  async replicateWrite(_cluster: string, _write: ReplicatedWrite): Promise<void> {
    throw new SqlError('not implemented yet');
  }
  async execute(_stmt: ClusterStatement): Promise<SqlResult> {
    throw new SqlError('not implemented yet');
  }
  statusRows(): [string, string][] {
    return [];
  }
  persistedClusters(): Record<string, PersistedCluster> {
    return {};
  }
}
