/**
 * Distributed tables: agent lines (`h1:p1|h2:p2:t`), mirror choice by ha_strategy with
 * per-mirror health (nodeads skips a mirror after more than 3 failures in a row until it answers
 * again), retries up to agent_retry_count, and the remote `search` request on the API port.
 */
import type { ColumnDef, Expr } from '../sql/ast.js';
import type { JsonDoc } from '../contract.js';
import type { PeerTransport } from '../net/peer.js';

export interface Mirror {
  addr: string;
  table: string;
}

export interface SearchRequest {
  table: string;
  where?: Expr;
  /**
   * `count`: the agent answers with its partial aggregate (matching documents counted) and no
   * documents, as a real agent does for `SELECT COUNT(*)` without GROUP BY: the master sums them.
   */
  aggregate?: 'count';
}

export interface SearchReply {
  columns: ColumnDef[];
  docs: JsonDoc[];
  /** the partial aggregate of an `aggregate: 'count'` request */
  count?: number;
}

/** Parses one `agent=` value into its mirrors. */
export function parseAgent(spec: string): Mirror[] {
  const parts = spec
    .split('|')
    .map((p) => p.trim())
    .filter(Boolean);
  const raw = parts.map((p) => {
    const bits = p.split(':');
    if (bits.length >= 3) return { addr: `${bits[0]}:${bits[1]}`, table: bits.slice(2).join(':') };
    if (bits.length === 2) return { addr: `${bits[0]}:${bits[1]}`, table: '' };
    return { addr: `${bits[0]}:9312`, table: '' };
  });
  // `h1:p1|h2:p2:t`: mirrors without a table take the next one's (the last given)
  let last = '';
  for (let i = raw.length - 1; i >= 0; i--) {
    const m = raw[i] as Mirror;
    if (m.table) last = m.table;
    else m.table = last;
  }
  return raw.filter((m) => m.table);
}

interface MirrorHealth {
  consecutiveFailures: number;
  successes: number;
  errors: number;
  lastQueryAt: number;
  lastAnswerAt: number;
}

export interface AgentError {
  mirror: Mirror;
  message: string;
}

const DEAD_AFTER = 3;

export class AgentPool {
  private readonly health = new Map<string, MirrorHealth>();
  private readonly rr = new Map<string, number>();

  constructor(
    private readonly transport: PeerTransport | undefined,
    private readonly timeoutMs = 3000,
  ) {}

  private h(m: Mirror): MirrorHealth {
    const key = `${m.addr}:${m.table}`;
    let h = this.health.get(key);
    if (!h) {
      h = { consecutiveFailures: 0, successes: 0, errors: 0, lastQueryAt: 0, lastAnswerAt: 0 };
      this.health.set(key, h);
    }
    return h;
  }

  /** Order in which the mirrors of one agent are tried. */
  order(agentKey: string, mirrors: Mirror[], strategy: string): Mirror[] {
    if (mirrors.length <= 1) return [...mirrors];
    const s = strategy.toLowerCase();
    if (s === 'roundrobin') {
      const i = this.rr.get(agentKey) ?? 0;
      this.rr.set(agentKey, (i + 1) % mirrors.length);
      return [...mirrors.slice(i), ...mirrors.slice(0, i)];
    }
    const shuffled = shuffle(mirrors);
    if (s === 'nodeads') {
      const alive = shuffled.filter((m) => this.h(m).consecutiveFailures <= DEAD_AFTER);
      const dead = shuffled.filter((m) => this.h(m).consecutiveFailures > DEAD_AFTER);
      return [...alive, ...dead];
    }
    if (s === 'noerrors') {
      return shuffled.sort((a, b) => errorRatio(this.h(a)) - errorRatio(this.h(b)) || this.h(a).consecutiveFailures - this.h(b).consecutiveFailures);
    }
    return shuffled;
  }

  /**
   * Queries one agent: tries mirrors in `order` up to 1 + retryCount times. Resolves with the
   * reply, or with the errors of every attempt.
   */
  async query(
    agentKey: string,
    mirrors: Mirror[],
    strategy: string,
    retryCount: number,
    where: Expr | undefined,
    aggregate?: SearchRequest['aggregate'],
  ): Promise<{ reply?: SearchReply; errors: AgentError[] }> {
    const errors: AgentError[] = [];
    if (!this.transport || mirrors.length === 0) return { errors: [{ mirror: mirrors[0] ?? { addr: '?', table: '?' }, message: 'no transport' }] };
    const ordered = this.order(agentKey, mirrors, strategy);
    const attempts = Math.max(1, 1 + Math.max(0, retryCount));
    for (let i = 0; i < attempts; i++) {
      const m = ordered[i % ordered.length] as Mirror;
      const h = this.h(m);
      h.lastQueryAt = Date.now();
      try {
        const req: SearchRequest = { table: m.table, ...(where ? { where } : {}), ...(aggregate ? { aggregate } : {}) };
        const reply = await this.transport.request<SearchReply>(m.addr, 'search', req, this.timeoutMs);
        h.consecutiveFailures = 0;
        h.successes++;
        h.lastAnswerAt = Date.now();
        return { reply, errors };
      } catch (err) {
        h.consecutiveFailures++;
        h.errors++;
        errors.push({ mirror: m, message: err instanceof Error ? err.message : String(err) });
      }
    }
    return { errors };
  }

  /** Records the outcome of a ping (ha_ping_interval) to a mirror. */
  private notePing(m: Mirror, okay: boolean): void {
    const h = this.h(m);
    if (okay) {
      h.consecutiveFailures = 0;
      h.lastAnswerAt = Date.now();
    } else {
      h.consecutiveFailures++;
    }
  }

  private pingTimer: NodeJS.Timeout | undefined;

  /**
   * Pings every mirror host of `mirrors()` each `intervalMs` (Manticore's ha_ping_interval, 1000 ms
   * by default), so dead mirrors are known before a query picks them. As in searchd, a ping goes to
   * a host (its API address), not to one of its tables: one ping per address per interval, whose
   * answer counts for every table mirrored there. (Pinging per table sent 4,000 pings a second from
   * each of 10 nodes with 200 distributed tables.)
   */
  startPinging(mirrors: () => Mirror[], intervalMs = 1000): void {
    if (!this.transport || this.pingTimer || intervalMs <= 0) return;
    const transport = this.transport;
    let busy = false;
    this.pingTimer = setInterval(() => {
      if (busy) return;
      busy = true;
      const byHost = new Map<string, Map<string, Mirror>>();
      for (const m of mirrors()) {
        let tables = byHost.get(m.addr);
        if (tables === undefined) byHost.set(m.addr, (tables = new Map()));
        if (!tables.has(m.table)) tables.set(m.table, m);
      }
      void Promise.all(
        [...byHost].map(([addr, tables]) =>
          transport.request(addr, 'ping', {}, Math.min(1000, intervalMs)).then(
            () => {
              for (const m of tables.values()) this.notePing(m, true);
            },
            () => {
              for (const m of tables.values()) this.notePing(m, false);
            },
          ),
        ),
      ).finally(() => {
        busy = false;
      });
    }, intervalMs);
    this.pingTimer.unref();
  }

  stopPinging(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  /** SHOW AGENT STATUS rows. */
  statusRows(): [string, string][] {
    const rows: [string, string][] = [
      ['status_period_seconds', '60'],
      ['status_stored_periods', '15'],
    ];
    let i = 0;
    for (const [key, h] of [...this.health.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      rows.push([`ag_${i}_hostname`, key]);
      rows.push([`ag_${i}_references`, '1']);
      rows.push([`ag_${i}_lastquery`, h.lastQueryAt ? ((Date.now() - h.lastQueryAt) / 1000).toFixed(2) : '-1']);
      rows.push([`ag_${i}_lastanswer`, h.lastAnswerAt ? ((Date.now() - h.lastAnswerAt) / 1000).toFixed(2) : '-1']);
      rows.push([`ag_${i}_errorsarow`, String(h.consecutiveFailures)]);
      rows.push([`ag_${i}_1periods_succeeded_queries`, String(h.successes)]);
      rows.push([`ag_${i}_1periods_connect_failures`, String(h.errors)]);
      i++;
    }
    return rows;
  }
}

function errorRatio(h: MirrorHealth): number {
  const total = h.successes + h.errors;
  if (total === 0) return 0;
  const r = h.errors / total;
  return r <= 0.03 ? 0 : r;
}

function shuffle<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}
