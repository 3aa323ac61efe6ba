/**
 * Produces a REAL split brain on a running simulator cluster, the way it happens in production
 * (manticore-facts.md 1.1 "force quorum on a surviving side", Cluster_recovery.md):
 *
 *   1. the network splits the nodes in two sides (`POST /sim/partition` on every node, both ways);
 *   2. the side without quorum turns non-primary and refuses writes;
 *   3. an operator (or a script) runs `SET CLUSTER c GLOBAL 'pc.bootstrap' = 1` there, although the
 *      other side is alive: the bootstrapped side becomes a second primary component of the same
 *      cluster uuid with its own history;
 *   4. (optional) writes land on both sides (`duringPartition`);
 *   5. the network heals (`POST /sim/heal`): the two primary components never merge (Galera refuses to
 *      merge two primaries, as real Manticore does), so both keep accepting writes: a split brain.
 *
 * Usage (nodes: the platform's NodeRefs, each with its httpAddress):
 *
 *   const sb = await induceSplitBrain({ nodes, cluster: 'c', bootstrapSide: ['node2'],
 *     duringPartition: async ({ primary, bootstrapped }) => { ...INSERT on each side... } });
 *   // sb.sides: [{ nodes: ['node0','node1'], ... }, { nodes: ['node2'], ... }]
 *
 * In a 2|2 split of 4 nodes neither side keeps quorum: `bootstrapSide` is the one forced primary and
 * the other stays non-primary (a "non-primary majority" once the network heals).
 *
 * `recreate` makes the second, worse mistake instead of stopping at pc.bootstrap: the bootstrapped side
 * recreates the cluster from its local tables (DELETE CLUSTER, CREATE CLUSTER, ALTER CLUSTER ADD, the
 * others of that side JOIN), so the two sides end with DIFFERENT cluster uuids.
 */
import { ManticorePools } from '../../src/manticore/client.js';
import { parseClusterStatus, type ClusterStatus } from '../../src/manticore/parse.js';
import { alterClusterAdd, createCluster, deleteCluster, joinCluster, setClusterBootstrap, showAllClusterStatus } from '../../src/manticore/sql.js';
import type { NodeRef } from '../../src/platform/types.js';
import { timeoutMs } from '../../src/sim/launcher.js';

/** Named waits (ms). */
export const SPLIT_BRAIN_WAIT = {
  /** a side loses (or keeps) quorum after the partition: eviction plus a view change */
  partition: timeoutMs('evict') + 5_000,
  /** pc.bootstrap makes the forced side primary */
  bootstrap: timeoutMs('form'),
  /** after the heal, heartbeats cross again: both sides must stay separate this long */
  settleMs: 1_500,
};

export interface SplitSide {
  /** node names of the side */
  nodes: string[];
  /** each node's cluster status after the heal (undefined: the node did not answer) */
  status: Record<string, ClusterStatus | undefined>;
}

export interface SplitBrainResult {
  /** the side that kept quorum (or, in an even split, stayed non-primary) */
  primary: SplitSide;
  /** the side forced primary with pc.bootstrap */
  bootstrapped: SplitSide;
}

export interface SplitBrainOptions {
  /** every node of the cluster (with httpAddress: the simulator's admin endpoints) */
  nodes: readonly NodeRef[];
  cluster: string;
  /** node names of the side that is partitioned away and then forced primary (pc.bootstrap) */
  bootstrapSide: readonly string[];
  /** called while the network is still split, after the bootstrap: write on both sides here */
  duringPartition?: (sides: { primary: NodeRef[]; bootstrapped: NodeRef[] }) => Promise<void>;
  /** heal the network at the end (default true) */
  heal?: boolean;
  /** SQL pools to use (default: its own, closed at the end) */
  pools?: ManticorePools;
  /** recreate the cluster on the bootstrapped side from these local tables (a new cluster uuid there) */
  recreate?: { tables: string[]; clusterOptions?: string };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(probe: () => Promise<boolean>, ms: number, what: string, describe?: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = ` (last error: ${err instanceof Error ? err.message : String(err)})`;
    }
    if (Date.now() > deadline) {
      const seen = describe ? `; nodes: ${await describe().catch(() => '?')}` : '';
      throw new Error(`split brain: waiting ${ms} ms for ${what} failed${last}${seen}`);
    }
    await sleep(100);
  }
}

/** POST to a simulator admin endpoint of a node (`/sim/partition`, `/sim/heal`, `/sim/pause`, `/sim/resume`). */
export async function simAdmin(node: NodeRef, endpoint: '/sim/partition' | '/sim/heal' | '/sim/pause' | '/sim/resume', body: object): Promise<void> {
  if (!node.httpAddress) throw new Error(`${node.name} has no httpAddress: the simulator's /sim endpoints are out of reach`);
  const res = await fetch(`http://${node.httpAddress}${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`${endpoint} on ${node.name}: HTTP ${res.status} ${await res.text()}`);
}

/** Splits the network between two sides of nodes (both directions). */
export async function partitionNetwork(sideA: readonly NodeRef[], sideB: readonly NodeRef[]): Promise<void> {
  for (const n of sideA) await simAdmin(n, '/sim/partition', { peers: sideB.map((o) => o.apiAddress) });
  for (const n of sideB) await simAdmin(n, '/sim/partition', { peers: sideA.map((o) => o.apiAddress) });
}

/** Heals every partition of these nodes. */
export async function healNetwork(nodes: readonly NodeRef[]): Promise<void> {
  for (const n of nodes) await simAdmin(n, '/sim/heal', {});
}

/** The node's status of `cluster` (undefined when it is not a member or does not answer). */
export async function clusterStatusOf(pools: ManticorePools, node: NodeRef, cluster: string): Promise<ClusterStatus | undefined> {
  try {
    return parseClusterStatus(await pools.get(`${node.mysql.host}:${node.mysql.port}`).query(showAllClusterStatus()), cluster);
  } catch {
    return undefined;
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join(',') === [...b].sort().join(',');
}

/**
 * Induces a split brain (see the file comment) and returns both sides with their statuses. Throws,
 * naming the step, when the cluster does not behave as Manticore does (e.g. the sides merged).
 */
export async function induceSplitBrain(o: SplitBrainOptions): Promise<SplitBrainResult> {
  const forced = o.nodes.filter((n) => o.bootstrapSide.includes(n.name));
  const other = o.nodes.filter((n) => !o.bootstrapSide.includes(n.name));
  if (forced.length === 0 || other.length === 0 || forced.length !== o.bootstrapSide.length) {
    throw new Error(`bootstrapSide must name some but not all of ${o.nodes.map((n) => n.name).join(', ')}`);
  }
  const pools = o.pools ?? new ManticorePools({ queryTimeoutMs: 5_000, connectTimeoutMs: 1_000 });
  const status = (n: NodeRef) => clusterStatusOf(pools, n, o.cluster);
  const otherKeepsQuorum = other.length * 2 > o.nodes.length;
  const describe = async () =>
    (
      await Promise.all(
        o.nodes.map(async (n) => {
          const st = await status(n);
          return st ? `${n.name} ${st.status}/${st.nodeState} view ${st.nodesView.join(',')}` : `${n.name} no cluster`;
        }),
      )
    ).join('; ');
  let healed = false;
  try {
    await partitionNetwork(forced, other);
    // each side sees only itself; the side with a majority stays primary
    await until(
      async () => {
        for (const n of forced) {
          const s = await status(n);
          if (!s || s.status === 'primary' || !sameSet(s.nodesView, forced.map((x) => x.apiAddress))) return false;
        }
        for (const n of other) {
          const s = await status(n);
          if (!s || (s.status === 'primary') !== otherKeepsQuorum) return false;
          if (otherKeepsQuorum && !sameSet(s.nodesView, other.map((x) => x.apiAddress))) return false;
        }
        return true;
      },
      SPLIT_BRAIN_WAIT.partition,
      `the partition ${forced.map((n) => n.name).join(',')} | ${other.map((n) => n.name).join(',')} to take effect`,
      describe,
    );
    // the mistake: force quorum on the side that lost it while the other side is alive
    const first = forced[0] as NodeRef;
    await pools.get(`${first.mysql.host}:${first.mysql.port}`).exec(setClusterBootstrap(o.cluster));
    await until(
      async () => {
        for (const n of forced) if ((await status(n))?.status !== 'primary') return false;
        return true;
      },
      SPLIT_BRAIN_WAIT.bootstrap,
      `pc.bootstrap to make ${forced.map((n) => n.name).join(',')} primary`,
      describe,
    );
    if (o.recreate) {
      const sql = (n: NodeRef) => pools.get(`${n.mysql.host}:${n.mysql.port}`);
      const opts = o.recreate.clusterOptions !== undefined ? { options: o.recreate.clusterOptions } : {};
      const before = (await status(first))?.stateUuid;
      await sql(first).exec(deleteCluster(o.cluster));
      await sql(first).exec(createCluster(o.cluster, opts));
      await sql(first).exec(alterClusterAdd(o.cluster, o.recreate.tables));
      for (const n of forced.slice(1)) await sql(n).exec(joinCluster(o.cluster, { at: first.apiAddress }, opts));
      await until(
        async () => {
          for (const n of forced) {
            const s = await status(n);
            if (s?.status !== 'primary' || s.nodeState !== 'synced' || s.stateUuid === before) return false;
          }
          return true;
        },
        SPLIT_BRAIN_WAIT.bootstrap,
        `the cluster recreated with a new uuid on ${forced.map((n) => n.name).join(',')}`,
        describe,
      );
    }
    if (o.duringPartition) await o.duringPartition({ primary: [...other], bootstrapped: [...forced] });
    if (o.heal !== false) {
      await healNetwork(o.nodes);
      healed = true;
      await sleep(SPLIT_BRAIN_WAIT.settleMs);
    }
    const read = async (side: readonly NodeRef[]): Promise<SplitSide> => {
      const st: Record<string, ClusterStatus | undefined> = {};
      for (const n of side) st[n.name] = await status(n);
      return { nodes: side.map((n) => n.name), status: st };
    };
    const result = { primary: await read(other), bootstrapped: await read(forced) };
    // the sides did not merge: the forced side is still its own primary component
    for (const n of forced) {
      const s = result.bootstrapped.status[n.name];
      if (s?.status !== 'primary' || s.nodesView.some((a) => other.some((x) => x.apiAddress === a))) {
        throw new Error(`split brain: ${n.name} merged or lost its primary after the heal: ${JSON.stringify(s && { status: s.status, view: s.nodesView })}`);
      }
    }
    return result;
  } catch (err) {
    // a failed attempt leaves no partition behind (the next scenario starts from a whole network)
    if (!healed) await healNetwork(o.nodes).catch(() => undefined);
    throw err;
  } finally {
    if (!o.pools) await pools.closeAll();
  }
}
