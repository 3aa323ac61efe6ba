// Regenerates the configuration reference in README.md and src/config/README.md from
// src/config/settings.ts (run `npm run build` first). test/unit/config/readme.test.ts checks both.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigDocs } from '../dist/src/config/settings.js';

const docs = renderConfigDocs();

const configReadme = 'src/config/README.md';
let text = readFileSync(configReadme, 'utf8');
text = text.replace(/(<!-- BEGIN CONFIG_DOCS -->\n)[\s\S]*(<!-- END CONFIG_DOCS -->)/, `$1${docs}$2`);
writeFileSync(configReadme, text);

const readme = 'README.md';
text = readFileSync(readme, 'utf8');
const start = text.indexOf('### controller', text.indexOf('## Configuration reference'));
const end = text.indexOf('\n## ', start);
if (start < 0 || end < 0) throw new Error('README.md: cannot find the configuration reference section');
writeFileSync(readme, `${text.slice(0, start)}${docs.trim()}\n${text.slice(end)}`);
console.log('configuration reference regenerated in README.md and src/config/README.md');
