/**
 * The fault suite's writer: INSERTs into the replicated delta table (`<cluster>:<table>_delta`), one
 * row per statement, on every node at once (one loop per node, so a node that hangs stalls only its
 * own loop), each row with an id of its own. Every attempt lands in the ledger with its outcome:
 *
 * - `acked`: the node answered OK. Such a row must be on every node once the cluster has recovered.
 * - `refused`: the node answered with an SQL error (e.g. `cluster 'c' is not ready, not primary
 *   state`). Manticore applied nothing: such a row must be on NO node afterwards.
 * - `unknown`: no answer (connection refused or reset, timeout on a paused node). The row may or may
 *   not have been applied; nothing is asserted about it.
 *
 * Reused by test/faults/cluster/* and test/faults/ops/*.
 */
import { isManticoreError, ManticorePools } from '../../../src/manticore/client.js';
import { insert } from '../../../src/manticore/sql.js';
import type { NodeRef } from '../../../src/platform/types.js';

export type WriteOutcome = 'acked' | 'refused' | 'unknown';

export interface WriteAttempt {
  id: number;
  node: string;
  outcome: WriteOutcome;
  /** Date.now() when the INSERT was sent and when its outcome was known */
  sentAt: number;
  doneAt: number;
  /** the server's message (refused) or the client's (unknown) */
  error?: string;
}

/** Every write attempt and its outcome. */
export class AckLedger {
  readonly attempts: WriteAttempt[] = [];

  add(a: WriteAttempt): void {
    this.attempts.push(a);
  }

  ids(outcome: WriteOutcome, filter: (a: WriteAttempt) => boolean = () => true): number[] {
    return this.attempts.filter((a) => a.outcome === outcome && filter(a)).map((a) => a.id);
  }

  /** Ids acknowledged (optionally only those acknowledged before `t`). */
  acked(before = Number.POSITIVE_INFINITY): number[] {
    return this.ids('acked', (a) => a.doneAt < before);
  }

  /** Attempts on one node sent inside [from, to). */
  on(node: string, from = 0, to = Number.POSITIVE_INFINITY): WriteAttempt[] {
    return this.attempts.filter((a) => a.node === node && a.sentAt >= from && a.sentAt < to);
  }

  /** `acked/refused/unknown` per node, for messages and the results. */
  summary(): string {
    const per = new Map<string, Record<WriteOutcome, number>>();
    for (const a of this.attempts) {
      const c = per.get(a.node) ?? { acked: 0, refused: 0, unknown: 0 };
      c[a.outcome]++;
      per.set(a.node, c);
    }
    return [...per.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([n, c]) => `${n} ${c.acked}/${c.refused}/${c.unknown}`)
      .join(', ')
      .concat(' (acked/refused/unknown)');
  }

  /** Distinct refusal messages (what the nodes said when they refused). */
  refusalMessages(): string[] {
    return [...new Set(this.attempts.filter((a) => a.outcome === 'refused').map((a) => a.error ?? ''))];
  }
}

export interface WriterOptions {
  cluster: string;
  /** the replicated RT table written to, e.g. `items_delta` */
  table: string;
  nodes: NodeRef[];
  /** pause between two INSERTs of one node's loop */
  intervalMs: number;
  /** per-INSERT limit: a paused node's write becomes `unknown` after it */
  timeoutMs: number;
  /** first id used (ids then increase by one per attempt over every node) */
  firstId?: number;
}

/** Writes until stop(); see the file header. */
export class Writer {
  readonly ledger = new AckLedger();
  private readonly pools: ManticorePools;
  private nextId: number;
  private running = false;
  private loops: Promise<void>[] = [];
  /** nodes whose loop sends nothing for now (see hold) */
  private readonly held = new Set<string>();

  constructor(private readonly o: WriterOptions) {
    this.nextId = o.firstId ?? 1;
    // its own pools: the writer's connections are the application's, not the test's probes
    this.pools = new ManticorePools({ queryTimeoutMs: o.timeoutMs, connectTimeoutMs: Math.min(o.timeoutMs, 1_000), connectionLimit: 2 });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = this.o.nodes.map((n) => this.loop(n));
  }

  /** Stops every loop after its INSERT in flight and closes the connections. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
    await this.pools.closeAll();
  }

  /** Sends nothing to these nodes until release() (their loops idle; the others go on). */
  hold(names: string[]): void {
    for (const n of names) this.held.add(n);
  }

  release(names: string[]): void {
    for (const n of names) this.held.delete(n);
  }

  /** Writes one row on one node now (outside the loops), recording it like the loops do. */
  async writeOnce(node: NodeRef): Promise<WriteAttempt> {
    const id = this.nextId++;
    const sentAt = Date.now();
    const sql = this.pools.get(`${node.mysql.host}:${node.mysql.port}`);
    let attempt: WriteAttempt;
    try {
      await sql.exec(insert(this.o.table, ['id', 'title', 'price'], [[id, `fault write ${id}`, id % 1000]], { cluster: this.o.cluster }));
      attempt = { id, node: node.name, outcome: 'acked', sentAt, doneAt: Date.now() };
    } catch (err) {
      // an SQL error is the server's answer (nothing applied); anything else leaves the outcome unknown
      const refused = isManticoreError(err) && err.kind === 'sql';
      const message = isManticoreError(err) ? err.manticoreMessage : String(err);
      attempt = { id, node: node.name, outcome: refused ? 'refused' : 'unknown', sentAt, doneAt: Date.now(), error: message };
    }
    this.ledger.add(attempt);
    return attempt;
  }

  private async loop(node: NodeRef): Promise<void> {
    while (this.running) {
      if (this.held.has(node.name)) {
        await new Promise((r) => setTimeout(r, this.o.intervalMs));
        continue;
      }
      const a = await this.writeOnce(node);
      // a node that does not answer is not hammered: one attempt per interval, or per 200 ms when failing
      const pause = a.outcome === 'acked' ? this.o.intervalMs : Math.max(this.o.intervalMs, 200);
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}
