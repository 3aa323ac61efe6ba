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
