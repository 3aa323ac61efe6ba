// Makes sure a Chromium for the browser tests (test/ui) is installed: CHROMIUM_BIN or /usr/bin/chromium
// when present; otherwise `apt-get install -y chromium` as root or with passwordless sudo; otherwise it
// fails with what to do. Chained before the test run by `npm test`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const wanted = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

function works(bin) {
  const res = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return res.status === 0 ? res.stdout.trim() : undefined;
}

function run(cmd, args) {
  console.log(`ensure-chromium: ${[cmd, ...args].join(' ')}`);
  return spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
}

if (existsSync(wanted) && works(wanted)) {
  console.log(`ensure-chromium: ${wanted} (${works(wanted)})`);
  process.exit(0);
}
if (process.env.CHROMIUM_BIN) {
  console.error(`ensure-chromium: CHROMIUM_BIN=${wanted} does not run; point it at a working Chromium or unset it`);
  process.exit(1);
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
const sudoOk = !isRoot && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
if (hasApt && (isRoot || sudoOk)) {
  const pre = isRoot ? [] : ['sudo', '-n'];
  const [cmd, ...rest] = [...pre, 'apt-get'];
  const ok = run(cmd, [...rest, 'update']) && run(cmd, [...rest, 'install', '-y', '--no-install-recommends', 'chromium']);
  if (ok && works(wanted)) {
    console.log(`ensure-chromium: installed ${wanted} (${works(wanted)})`);
    process.exit(0);
  }
  console.error('ensure-chromium: apt-get install chromium did not give a working /usr/bin/chromium');
  process.exit(1);
}
console.error(
  `ensure-chromium: no Chromium at ${wanted} and no way to install it here (${hasApt ? 'not root and no passwordless sudo' : 'no apt-get'}).\n` +
    '  Install it yourself (Debian/Ubuntu: sudo apt-get install -y chromium) or set CHROMIUM_BIN to a Chromium/Chrome binary,\n' +
    '  then run npm test again. The browser tests (test/ui) need it.',
);
process.exit(1);
