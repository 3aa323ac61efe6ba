/**
 * The admin token: configured (ORCHESTRATOR_TOKEN / AUTH_TOKEN), or generated once and kept in
 * `<data dir>/token` with mode 0600 so every later start reuses it.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AppError, ValidationError } from '../lib/errors.js';

export type TokenSource = 'env' | 'file' | 'generated';

export interface ResolvedToken {
  token: string;
  source: TokenSource;
  /** the token file, when the token lives in one */
  file?: string;
  /** the env var it came from */
  from?: string;
}

/** Characters a token may hold: it travels in an HTTP header. */
const TOKEN_RE = /^[A-Za-z0-9._~+/=-]{16,512}$/;

export function validateToken(token: string, from: string): string {
  if (!TOKEN_RE.test(token)) {
    throw new ValidationError(
      from,
      'the token must be 16 to 512 characters of letters, digits and ._~+/=- (no spaces): generate one with `openssl rand -hex 32`',
    );
  }
  return token;
}

export function tokenFile(dataDir: string): string {
  return path.join(dataDir, 'token');
}

/**
 * The configured token when there is one; else the one stored in `<dataDir>/token` (its mode is
 * tightened to 0600 if it was looser); else a new random one written there with mode 0600.
 */
export function resolveToken(configured: { value: string; from: string } | undefined, dataDir: string): ResolvedToken {
  if (configured) return { token: validateToken(configured.value, configured.from), source: 'env', from: configured.from };
  const file = tokenFile(dataDir);
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    validateToken(token, file);
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return { token, source: 'file', file };
  }
  const token = randomBytes(32).toString('hex');
  try {
    mkdirSync(dataDir, { recursive: true });
    // 'wx': never overwrite a token another process wrote meanwhile
    writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return resolveToken(undefined, dataDir);
    throw new AppError('TOKEN_WRITE_FAILED', `cannot write the generated token to ${file}: make the data directory writable or set ORCHESTRATOR_TOKEN`, {
      cause: err,
    });
  }
  chmodSync(file, 0o600);
  return { token, source: 'generated', file };
}
