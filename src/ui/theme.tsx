/** Light / dark / follow the system (prefers-color-scheme); the choice is kept in localStorage. */
export type ThemeChoice = 'system' | 'light' | 'dark';

const KEY = 'mo-theme';

export function readTheme(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch {
    return 'system';
  }
}

export function effectiveTheme(choice = readTheme()): 'light' | 'dark' {
  if (choice !== 'system') return choice;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function applyTheme(choice: ThemeChoice): void {
  try {
    if (choice === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch {
    // storage disabled: the choice lasts for this page
  }
  document.documentElement.dataset.theme = effectiveTheme(choice);
}
