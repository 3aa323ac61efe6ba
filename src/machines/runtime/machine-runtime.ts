/**
 * Runs operation machines with persisted snapshots (DESIGN.md section 4): after every transition
 * the actor's persisted snapshot is written atomically to `<data-dir>/machines/<key>.json` as
 * `{machine, version, key, snapshot, savedAt}`; on controller start a snapshot of the same machine
 * and version is restored (re-running its active effect, which is idempotent), and any other is
 * dropped so the reconciler decides again from observation.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { createActor } from 'xstate';
import type { Actor, AnyStateMachine, InputFrom, Snapshot } from 'xstate';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';

export interface PersistedMachine {
  machine: string;
  version: number;
  key: string;
  snapshot: unknown;
  savedAt: string;
}

/** Atomic JSON files of persisted snapshots, one per key. */
export class MachineStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'machines');
  }

  fileOf(key: string): string {
    return path.join(this.dir, `${encodeURIComponent(key)}.json`);
  }

  /** write to a temp file, fsync, rename: a crash leaves the old or the new file, never half of one */
  save(record: PersistedMachine): void {
    mkdirSync(this.dir, { recursive: true });
    const file = this.fileOf(record.key);
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(record));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  }

  load(key: string): PersistedMachine | undefined {
    const file = this.fileOf(key);
    if (!existsSync(file)) return undefined;
    return JSON.parse(readFileSync(file, 'utf8')) as PersistedMachine;
  }

  remove(key: string): void {
    rmSync(this.fileOf(key), { force: true });
  }

  keys(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => decodeURIComponent(f.slice(0, -'.json'.length)));
  }
}

export interface RunningMachine<TMachine extends AnyStateMachine = AnyStateMachine> {
  key: string;
  machine: string;
  version: number;
  actor: Actor<TMachine>;
  /** true when it came from a persisted snapshot */
  restored: boolean;
  /** stops persisting (before stopping the actor, so a stop is never saved as the last state) */
  unsubscribe(): void;
}

export interface MachineDefinition<TMachine extends AnyStateMachine> {
  /** machine name stored with the snapshot */
  name: string;
  version: number;
  /** the machine with its actors bound (machine.provide({ actors })) */
  machine: TMachine;
}

/** One actor per key, persisted after every transition. */
export class MachineRuntime {
  readonly store: MachineStore;
  private readonly running = new Map<string, RunningMachine>();

  constructor(
    dataDir: string,
    private readonly logger: Logger,
  ) {
    this.store = new MachineStore(dataDir);
  }

  get<TMachine extends AnyStateMachine>(key: string): RunningMachine<TMachine> | undefined {
    return this.running.get(key) as RunningMachine<TMachine> | undefined;
  }

  /** Starts a new actor for `key` (replacing nothing: fails when one runs). */
  start<TMachine extends AnyStateMachine>(key: string, def: MachineDefinition<TMachine>, input: InputFrom<TMachine>): RunningMachine<TMachine> {
    if (this.running.has(key)) throw new Error(`a machine already runs for ${key}`);
    const actor = createActor(def.machine, { input }) as Actor<TMachine>;
    return this.launch(key, def, actor, false);
  }

  /**
   * Restores the persisted actor of `key` when its machine and version match; drops the file
   * otherwise (or when it cannot be read) and returns undefined.
   */
  restore<TMachine extends AnyStateMachine>(key: string, def: MachineDefinition<TMachine>): RunningMachine<TMachine> | undefined {
    const existing = this.get<TMachine>(key);
    if (existing) return existing;
    let record: PersistedMachine | undefined;
    try {
      record = this.store.load(key);
    } catch (err) {
      this.logger.warn('persisted machine unreadable: dropped', { machineKey: key, err: errorMessage(err) });
      this.store.remove(key);
      return undefined;
    }
    if (!record) return undefined;
    if (record.machine !== def.name || record.version !== def.version) {
      this.logger.warn('persisted machine of another version: dropped, deciding again', { machineKey: key, machine: record.machine, version: record.version, expected: def.version });
      this.store.remove(key);
      return undefined;
    }
    let actor: Actor<TMachine>;
    try {
      actor = createActor(def.machine as AnyStateMachine, { snapshot: record.snapshot as Snapshot<unknown> }) as unknown as Actor<TMachine>;
    } catch (err) {
      this.logger.warn('persisted machine could not be restored: dropped', { machineKey: key, err: errorMessage(err) });
      this.store.remove(key);
      return undefined;
    }
    this.logger.info('machine restored', { machineKey: key, machine: def.name, savedAt: record.savedAt });
    return this.launch(key, def, actor, true);
  }

  private launch<TMachine extends AnyStateMachine>(key: string, def: MachineDefinition<TMachine>, actor: Actor<TMachine>, restored: boolean): RunningMachine<TMachine> {
    const persist = () => {
      try {
        this.store.save({ machine: def.name, version: def.version, key, snapshot: actor.getPersistedSnapshot(), savedAt: new Date().toISOString() });
      } catch (err) {
        this.logger.error('machine snapshot not saved', { machineKey: key, err: errorMessage(err) });
      }
    };
    const sub = actor.subscribe({
      next: persist,
      error: (err) => this.logger.error('machine failed', { machineKey: key, err: errorMessage(err) }),
    });
    const entry: RunningMachine<TMachine> = { key, machine: def.name, version: def.version, actor, restored, unsubscribe: () => sub.unsubscribe() };
    this.running.set(key, entry as unknown as RunningMachine);
    actor.start();
    persist();
    return entry;
  }

  /** Stops the actor of `key` (its snapshot stays unless `remove`). */
  stop(key: string, options: { remove?: boolean } = {}): void {
    const entry = this.running.get(key);
    this.running.delete(key);
    entry?.unsubscribe();
    entry?.actor.stop();
    if (options.remove) this.store.remove(key);
  }

  /** Stops every actor, keeping their snapshots (controller shutdown). */
  stopAll(): void {
    for (const key of [...this.running.keys()]) this.stop(key);
  }
}
