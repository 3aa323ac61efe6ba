import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDurationMs, parseFlags, parseListen } from '../../../src/config/source.js';
import { ValidationError } from '../../../src/lib/errors.js';

describe('parseFlags', () => {
  const known = ['--nodes', '--port', '--data-dir'];

  test('reads --name value, --name=value, booleans and positionals', () => {
    const r = parseFlags(['--nodes', '5', '--port=9090', '--help', 'extra', '--', '--data-dir'], known);
    assert.deepEqual(r.flags, { '--nodes': '5', '--port': '9090', '--help': true });
    assert.deepEqual(r.positional, ['extra', '--data-dir']);
  });

  test('an unknown flag names itself and lists the known ones', () => {
    assert.throws(
      () => parseFlags(['--node', '3'], known),
      (err: unknown) => err instanceof ValidationError && err.field === '--node' && /unknown flag '--node': the flags are --data-dir, --help, --nodes, --port/.test(err.message),
    );
  });

  test('a value flag without a value says how to write it', () => {
    assert.throws(() => parseFlags(['--port'], known), /--port: --port needs a value: write '--port <value>'/);
    assert.throws(() => parseFlags(['--port', '--nodes', '2'], known), /--port needs a value/);
    assert.throws(() => parseFlags(['--help=yes'], known), /--help takes no value/);
  });
});

describe('durations and listen addresses', () => {
  test('durations in ms, s, m, h; a bare number is seconds', () => {
    assert.equal(parseDurationMs('500ms'), 500);
    assert.equal(parseDurationMs('30s'), 30_000);
    assert.equal(parseDurationMs('1.5s'), 1500);
    assert.equal(parseDurationMs('5m'), 300_000);
    assert.equal(parseDurationMs('1h'), 3_600_000);
    assert.equal(parseDurationMs('45'), 45_000);
    assert.equal(parseDurationMs('soon'), undefined);
    assert.equal(parseDurationMs('-1s'), undefined);
  });

  test('host:port, :port (every interface) and a bare port', () => {
    assert.deepEqual(parseListen('127.0.0.1:8080', 'X', 'h'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseListen(':8080', 'X', 'h'), { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(parseListen('9000', 'X', 'default-host'), { host: 'default-host', port: 9000 });
    assert.throws(() => parseListen('127.0.0.1:99999', 'LISTEN_ADDR', 'h'), /LISTEN_ADDR: port '99999' is not a whole number from 1 to 65535/);
    assert.throws(() => parseListen('bad host:80', 'LISTEN_ADDR', 'h'), /LISTEN_ADDR: host 'bad host'/);
  });
});
