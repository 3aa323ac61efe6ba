/**
 * Fault injection state of one simulated node (only the simulator has this; tests drive it
 * through the HTTP admin endpoints under /sim/). Every network path of the node consults it:
 * the peer transport drops traffic to and from blocked peers, and a paused node neither
 * answers nor sends anything until resumed, like a process under SIGSTOP.
 */
export class FaultState {
  /** API addresses ("host:port") this node cannot talk to, in either direction. */
  private readonly blocked = new Set<string>();
  private pausedFlag = false;
  private waiters: (() => void)[] = [];
  /** Extra delay per table (and per SST stage) when this node sends an SST. */
  sstDelayMs = 0;
  /**
   * The node's data disk is full: statements that write table files (IMPORT TABLE copies the
   * table's files into the data dir) fail with ENOSPC, as real searchd reports it. Cleared by
   * POST /sim/disk-full {"full": false} or a restart.
   */
  diskFull = false;

  block(peers: Iterable<string>): void {
    for (const p of peers) this.blocked.add(p);
  }

  heal(peers?: Iterable<string>): void {
    if (!peers) {
      this.blocked.clear();
      return;
    }
    for (const p of peers) this.blocked.delete(p);
  }

  isBlocked(peer: string): boolean {
    return this.blocked.has(peer);
  }

  blockedPeers(): string[] {
    return [...this.blocked].sort();
  }

  get paused(): boolean {
    return this.pausedFlag;
  }

  pause(): void {
    this.pausedFlag = true;
  }

  resume(): void {
    this.pausedFlag = false;
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  /** Resolves at once when running; otherwise when the node is resumed. */
  whenRunning(): Promise<void> {
    if (!this.pausedFlag) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  snapshot(): { paused: boolean; blocked: string[]; sstDelayMs: number; diskFull: boolean } {
    return { paused: this.pausedFlag, blocked: this.blockedPeers(), sstDelayMs: this.sstDelayMs, diskFull: this.diskFull };
  }
}
