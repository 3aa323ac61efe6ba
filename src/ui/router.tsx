/** A tiny history router: real paths (/tables, /query ...) served by the controller as index.html. */
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

const EVENT = 'mo-navigate';

export function navigate(to: string): void {
  if (`${location.pathname}${location.search}` === to) return;
  history.pushState(null, '', to);
  window.dispatchEvent(new Event(EVENT));
}

export function useLocation(): { path: string; query: URLSearchParams } {
  const read = (): { path: string; query: URLSearchParams } => ({ path: location.pathname, query: new URLSearchParams(location.search) });
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const on = (): void => setLoc(read());
    window.addEventListener('popstate', on);
    window.addEventListener(EVENT, on);
    return () => {
      window.removeEventListener('popstate', on);
      window.removeEventListener(EVENT, on);
    };
  }, []);
  return loc;
}

export function Link({ to, children, class: cls, current, testid }: { to: string; children: ComponentChildren; class?: string; current?: boolean; testid?: string }): JSX.Element {
  return (
    <a
      href={to}
      class={cls}
      aria-current={current ? 'page' : undefined}
      data-testid={testid}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}
