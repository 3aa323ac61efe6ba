// Builds the web UI: typechecks src/ui (its own tsconfig: DOM + Preact JSX), bundles src/ui/main.tsx with
// esbuild into dist/ui/app-<hash>.js and app-<hash>.css, and writes dist/ui/index.html pointing at them.
// Hashed names let the controller serve them with a long cache; index.html is never cached.
// Usage: node scripts/build-ui.mjs [--no-typecheck]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src', 'ui');
const out = join(root, 'dist', 'ui');

if (!process.argv.includes('--no-typecheck')) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const res = spawnSync(process.execPath, [tsc, '-p', join(src, 'tsconfig.json')], { stdio: 'inherit', cwd: root });
  if (res.status !== 0) {
    console.error('build-ui: src/ui does not typecheck');
    process.exit(res.status ?? 1);
  }
}

const result = await build({
  entryPoints: [join(src, 'main.tsx')],
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: false,
  write: false,
  legalComments: 'none',
  logLevel: 'warning',
  outdir: out,
  tsconfig: join(src, 'tsconfig.json'),
});

const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
if (!js) throw new Error('build-ui: esbuild produced no JavaScript');
const css = readFileSync(join(src, 'app.css'), 'utf8');
const hash = (data) => createHash('sha256').update(data).digest('hex').slice(0, 10);
const jsName = `app-${hash(js.contents)}.js`;
const cssName = `app-${hash(css)}.css`;

// new files first, index.html last, stale bundles removed after: a page loaded meanwhile keeps working
mkdirSync(out, { recursive: true });
writeFileSync(join(out, jsName), js.contents);
writeFileSync(join(out, cssName), css);
const html = readFileSync(join(src, 'index.html'), 'utf8').replace('/__CSS__', `/${cssName}`).replace('/__JS__', `/${jsName}`);
writeFileSync(join(out, 'index.html.tmp'), html);
renameSync(join(out, 'index.html.tmp'), join(out, 'index.html'));
for (const name of readdirSync(out)) {
  if (name !== jsName && name !== cssName && name !== 'index.html') rmSync(join(out, name), { recursive: true, force: true });
}
console.log(`build-ui: dist/ui/index.html, ${jsName} (${(js.contents.length / 1024).toFixed(1)} KiB), ${cssName} (${(css.length / 1024).toFixed(1)} KiB)`);
