/**
 * The README's configuration reference is generated from src/config/settings.ts; this keeps the two equal
 * so the README stays true when a setting is added or changed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { renderConfigDocs } from '../../../src/config/settings.js';
import { repoRoot } from '../../../src/sim/launcher.js';

test('README configuration reference matches the settings table', () => {
  const readme = readFileSync(path.join(repoRoot(), 'README.md'), 'utf8');
  const rendered = renderConfigDocs().trim();
  assert.ok(
    readme.includes(rendered),
    'README.md is out of date: replace its "Configuration reference" tables with the output of renderConfigDocs() (src/config/settings.ts)',
  );
});
