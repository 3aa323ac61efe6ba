/**
 * The configuration references (src/config/README.md and the top-level README.md) are generated from
 * src/config/settings.ts; these keep them equal so the docs stay true when a setting changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { renderConfigDocs } from '../../../src/config/settings.js';
import { repoRoot } from '../../../src/sim/launcher.js';

test('src/config/README.md holds the reference the code documents', () => {
  const text = readFileSync(path.join(repoRoot(), 'src', 'config', 'README.md'), 'utf8');
  const m = /<!-- BEGIN CONFIG_DOCS -->\n([\s\S]*)<!-- END CONFIG_DOCS -->/.exec(text);
  assert.ok(m, 'the README has the BEGIN/END CONFIG_DOCS markers');
  assert.equal(m[1], renderConfigDocs(), 'regenerate the section between the markers from renderConfigDocs()');
});

test('README.md configuration reference matches the settings table', () => {
  const readme = readFileSync(path.join(repoRoot(), 'README.md'), 'utf8');
  assert.ok(
    readme.includes(renderConfigDocs().trim()),
    'README.md is out of date: run npm run build && node scripts/gen-config-docs.mjs',
  );
});
