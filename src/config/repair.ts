/**
 * Split-brain repair settings (REPAIR_POLICY, REPAIR_OBSERVATION_GUARD, REPAIR_AUTO_DEBOUNCE; see
 * settings.ts): read here so that src/config stays the only place reading the environment.
 */
import { CONTROLLER_SETTINGS as S } from './settings.js';
import { SettingSource, type Env } from './source.js';

export interface RepairConfig {
  policy: 'manual' | 'auto';
  guardMs: number;
  debounceMs: number;
}

/** Throws ValidationError naming the env var when a value is not valid. */
export function loadRepairConfig(env: Env): RepairConfig {
  const src = new SettingSource(env);
  return {
    policy: src.oneOf(S.repairPolicy, ['manual', 'auto'] as const, 'manual'),
    guardMs: src.durationMs(S.repairGuard, 10_000, 500),
    debounceMs: src.durationMs(S.repairDebounce, 3_000, 0),
  };
}
