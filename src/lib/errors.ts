/**
 * One error base for the whole project (DESIGN.md section 8): every error carries a stable
 * machine-readable `code`, whether retrying can help, and the underlying cause.
 */
export interface AppErrorOptions {
  retryable?: boolean;
  cause?: unknown;
  /** Extra structured fields for logs and API envelopes (node, table, field...). */
  details?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }
}

/** Bad input: names the field and how to fix it; never retryable. */
export class ValidationError extends AppError {
  readonly field: string;
  constructor(field: string, message: string, options: Omit<AppErrorOptions, 'retryable'> = {}) {
    super('VALIDATION_FAILED', `${field}: ${message}`, { ...options, retryable: false, details: { ...options.details, field } });
    this.name = 'ValidationError';
    this.field = field;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** Best-effort message of an unknown thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
