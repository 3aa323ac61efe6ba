/** Shared pieces: inline SVG icons, badges, progress bars, the focus-trapping dialog, the confirmation dialog, toasts. */
import type { ComponentChildren, JSX } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { errorText } from './lib/api.js';
import { useStoreContext } from './lib/store.js';

const ICON_PATHS: Record<string, string> = {
  overview: 'M3 13h8V3H3v10zm0 8h8v-6H3v6zm10 0h8V11h-8v10zm0-18v6h8V3h-8z',
  tables: 'M3 4h18v4H3V4zm0 6h18v4H3v-4zm0 6h18v4H3v-4z',
  query: 'M4 5h16v2H4V5zm0 4h10v2H4V9zm0 4h16v2H4v-2zm0 4h10v2H4v-2zm13-1 4 3-4 3v-6z',
  operations: 'M12 2a10 10 0 1 0 10 10h-2a8 8 0 1 1-2.34-5.66L15 9h7V2l-2.93 2.93A9.96 9.96 0 0 0 12 2zm-1 5v6l5 3 1-1.7-4-2.3V7h-2z',
  backups: 'M5 4h14l2 4v11a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V8l2-4zm.6 2L5 8h14l-.6-2H5.6zM8 11v2h8v-2H8z',
  settings: 'M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zm9 5.5v-3l-2.6-.5a7 7 0 0 0-.7-1.7l1.5-2.2-2.1-2.1-2.2 1.5a7 7 0 0 0-1.7-.7L12.7 2h-3l-.5 2.6a7 7 0 0 0-1.7.7L5.3 3.8 3.2 5.9l1.5 2.2a7 7 0 0 0-.7 1.7L1.4 10.5v3l2.6.5c.2.6.4 1.2.7 1.7l-1.5 2.2 2.1 2.1 2.2-1.5c.5.3 1.1.5 1.7.7l.5 2.6h3l.5-2.6c.6-.2 1.2-.4 1.7-.7l2.2 1.5 2.1-2.1-1.5-2.2c.3-.5.5-1.1.7-1.7l2.6-.5z',
  sun: 'M12 7a5 5 0 1 0 0 10 5 5 0 0 0 0-10zm0-5h0v3m0 14v3M4.2 4.2l2.1 2.1m11.4 11.4 2.1 2.1M2 12h3m14 0h3M4.2 19.8l2.1-2.1M17.7 6.3l2.1-2.1',
  moon: 'M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z',
  warn: 'M12 2 1 21h22L12 2zm0 6 1 7h-2l1-7zm-1 9h2v2h-2v-2z',
  check: 'M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z',
  x: 'M19 6.4 17.6 5 12 10.6 6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12z',
  play: 'M8 5v14l11-7z',
  logo: 'M12 2 3 7v10l9 5 9-5V7l-9-5zm0 2.3L18.8 8 12 11.7 5.2 8 12 4.3zM5 9.7l6 3.3v6.7l-6-3.3V9.7zm8 10v-6.7l6-3.3v6.7l-6 3.3z',
};

export function Icon({ name, size = 16, title }: { name: keyof typeof ICON_PATHS; size?: number; title?: string }): JSX.Element {
  const stroke = name === 'sun';
  return (
    <svg class="icon" width={size} height={size} viewBox="0 0 24 24" aria-hidden={title ? undefined : 'true'} role={title ? 'img' : undefined}>
      {title ? <title>{title}</title> : null}
      <path d={ICON_PATHS[name]} fill={stroke ? 'none' : 'currentColor'} stroke={stroke ? 'currentColor' : 'none'} stroke-width={stroke ? 2 : 0} stroke-linecap="round" />
    </svg>
  );
}

export type Tone = 'ok' | 'warn' | 'bad' | 'info' | 'muted';

export function Badge({ tone, children, title }: { tone: Tone; children: ComponentChildren; title?: string }): JSX.Element {
  return (
    <span class={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}

export function stateTone(state: string): Tone {
  switch (state) {
    case 'succeeded':
    case 'ok':
    case 'synced':
    case 'primary':
      return 'ok';
    case 'running':
    case 'pending':
      return 'info';
    case 'failed':
    case 'error':
      return 'bad';
    case 'cancelled':
      return 'muted';
    default:
      return 'warn';
  }
}

export function Progress({ value, state, label }: { value: number; state: string; label: string }): JSX.Element {
  const pct = Math.round(value * 100);
  return (
    <div class={`progress progress-${state}`} role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label={label}>
      <div class="progress-fill" style={{ width: `${pct}%` }} />
    </div>
  );
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** A modal dialog: focus moves in, Tab cycles inside, Esc closes, focus returns where it was. */
export function Dialog({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }): JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  // a layout effect, not useEffect (which Preact runs after the paint): focus is inside the dialog as soon
  // as it shows, so an Esc or Tab pressed right away reaches it instead of the page behind
  useLayoutEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const box = ref.current;
    const first = box?.querySelector<HTMLElement>('[data-autofocus]') ?? box?.querySelector<HTMLElement>(FOCUSABLE);
    first?.focus();
    return () => {
      if (before && document.contains(before)) before.focus();
    };
  }, []);
  const onKey = (e: KeyboardEvent): void => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      onClose();
      return;
    }
    if (e.key !== 'Tab' || !ref.current) return;
    const items = [...ref.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    if (items.length === 0) return;
    const first = items[0]!;
    const last = items[items.length - 1]!;
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };
  return (
    <div class="backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div class={`dialog${wide ? ' dialog-wide' : ''}`} role="dialog" aria-modal="true" aria-labelledby="dialog-title" ref={ref} onKeyDown={onKey}>
        <h2 id="dialog-title">{title}</h2>
        {children}
      </div>
    </div>
  );
}

/**
 * Confirmation of a mutating action: says what will happen, runs `action` on confirm, shows the API's error
 * message inside the dialog when it fails (and stays open), toasts `success` when it works.
 */
export function ConfirmDialog(props: {
  title: string;
  confirmLabel: string;
  danger?: boolean;
  children: ComponentChildren;
  action: () => Promise<string>;
  onClose: () => void;
  disabled?: boolean;
}): JSX.Element {
  const store = useStoreContext();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      const msg = await props.action();
      store.toast('ok', msg);
      props.onClose();
      void store.refresh();
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <div class="dialog-body">{props.children}</div>
      {error ? (
        <div class="alert alert-bad" role="alert" data-testid="dialog-error">
          <Icon name="warn" /> {error}
        </div>
      ) : null}
      <div class="dialog-actions">
        <button type="button" class="btn" onClick={props.onClose}>
          Cancel
        </button>
        <button type="button" class={`btn ${props.danger ? 'btn-danger' : 'btn-primary'}`} disabled={busy || props.disabled} onClick={() => void run()} data-testid="confirm">
          {busy ? 'Working…' : props.confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}

export function Toasts(): JSX.Element {
  const store = useStoreContext();
  return (
    <div class="toasts" aria-live="polite">
      {store.toasts.map((t) => (
        <div key={t.id} class={`toast toast-${t.kind}`} role={t.kind === 'error' ? 'alert' : 'status'}>
          <span>{t.text}</span>
          <button type="button" class="btn-icon" aria-label="Dismiss" onClick={() => store.dismiss(t.id)}>
            <Icon name="x" size={14} />
          </button>
        </div>
      ))}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }): JSX.Element {
  return <div class="empty">{children}</div>;
}

export function Card({ title, actions, children, id }: { title?: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren; id?: string }): JSX.Element {
  return (
    <section class="card" id={id}>
      {title || actions ? (
        <header class="card-head">
          {title ? <h2>{title}</h2> : <span />}
          {actions ? <div class="card-actions">{actions}</div> : null}
        </header>
      ) : null}
      {children}
    </section>
  );
}

export function Loading(): JSX.Element {
  return <div class="empty">Loading…</div>;
}
