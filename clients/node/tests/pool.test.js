'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { once } = require('node:events');
const { connect, connectPool, Pool, RpcError, ConnectionError } = require('../index.js');
const { MockServer } = require('./mock-server.js');

// A self-signed certificate for localhost and 127.0.0.1, for the tests only.
const key = fs.readFileSync(path.join(__dirname, 'fixtures', 'localhost-key.pem'));
const cert = fs.readFileSync(path.join(__dirname, 'fixtures', 'localhost-cert.pem'));

async function server(t, options = {}) {
  const s = await new MockServer(options).listen();
  t.after(() => s.close());
  return s;
}

// freePort returns a loopback port that nothing listens on now.
async function freePort() {
  const s = await new MockServer().listen();
  const { port } = s;
  await s.close();
  return port;
}

const fast = { initialDelay: 5, maxDelay: 20 };

test('connect over TLS checks the certificate against the given authority', async (t) => {
  const s = await server(t, { tls: { key, cert } });
  const client = await connect({ host: '127.0.0.1', port: s.port, tls: { ca: cert } });
  t.after(() => client.destroy());
  assert.equal(await client.call('add', 1, 2), 3);
  await assert.rejects(connect({ host: '127.0.0.1', port: s.port, tls: true }), (err) => !(err instanceof ConnectionError) && /self.signed/i.test(err.code + err.message));
});

test('a pool spreads calls over its addresses in turn', async (t) => {
  const a = await server(t);
  const b = await server(t);
  const pool = new Pool({ addresses: [`127.0.0.1:${a.port}`, { host: '127.0.0.1', port: b.port }] });
  t.after(() => pool.destroy());
  while (pool.connected < 2) await once(pool, 'connect');
  assert.deepEqual(await Promise.all([1, 2, 3, 4].map((i) => pool.call('add', i, i))), [2, 4, 6, 8]);
  assert.equal(a.received.length, 2);
  assert.equal(b.received.length, 2);
});

test('a pool over TLS', async (t) => {
  const s = await server(t, { tls: { key, cert } });
  const pool = await connectPool({ addresses: [`localhost:${s.port}`], tls: { ca: cert } });
  t.after(() => pool.destroy());
  assert.equal(await pool.call('add', 2, 3), 5);
});

test('a pool makes a dropped connection again', async (t) => {
  const s = await server(t);
  const pool = await connectPool({ addresses: [`127.0.0.1:${s.port}`], reconnect: fast });
  t.after(() => pool.destroy());
  const held = pool.call('hold');
  await s.until((m) => m.held.length === 1);
  const disconnected = once(pool, 'disconnect');
  const reconnected = once(pool, 'connect');
  for (const c of s.conns) c.socket.destroy();
  // A call in flight is not sent again: it fails.
  await assert.rejects(held, (err) => err instanceof ConnectionError && err.code === 'ConnectionLost');
  const [, reason] = await disconnected;
  assert.equal(reason.code, 'ConnectionLost');
  await reconnected;
  assert.equal(await pool.call('add', 1, 2), 3);
});

test('a call waits for a connection, within its time-out', async (t) => {
  const port = await freePort();
  const pool = new Pool({ addresses: [`127.0.0.1:${port}`], reconnect: fast, timeout: 10000 });
  t.after(() => pool.destroy());
  await assert.rejects(pool.callWithOptions('add', [1, 2], { timeout: 30 }), (err) => err instanceof RpcError && err.kind === 'Timeout');
  const waiting = pool.call('add', 1, 2);
  await once(pool, 'connectError'); // still nothing there
  const late = new MockServer();
  await new Promise((resolve) => late.server.listen(port, '127.0.0.1', resolve));
  t.after(() => late.close());
  assert.equal(await waiting, 3);
});

test('connectPool rejects when every address fails, and close fails the waiting calls', async (t) => {
  const port = await freePort();
  await assert.rejects(connectPool({ addresses: [`127.0.0.1:${port}`] }), (err) => err.code === 'ECONNREFUSED');
  const pool = new Pool({ addresses: [`127.0.0.1:${port}`], reconnect: fast });
  const waiting = pool.call('add', 1, 2);
  await pool.close();
  await assert.rejects(waiting, (err) => err instanceof ConnectionError && err.code === 'ClientClosed');
  await assert.rejects(pool.call('add', 1, 2), (err) => err instanceof ConnectionError && err.code === 'ClientClosed');
});

test('a pool checks its options', () => {
  assert.throws(() => new Pool({}), TypeError);
  assert.throws(() => new Pool({ addresses: ['no port'] }), TypeError);
  assert.throws(() => new Pool({ addresses: ['h:1'], reconnect: { initialDelay: 0 } }), TypeError);
  assert.throws(() => new Pool({ addresses: ['h:1'], reconnect: { factor: 0.5 } }), TypeError);
  assert.throws(() => new Pool({ addresses: ['h:1'], timeout: -1 }), TypeError);
});

test('setAddresses: a new address is used, one left out takes no new call and closes after its calls in flight', async (t) => {
  const a = await server(t);
  const b = await server(t);
  const pool = await connectPool({ addresses: [`127.0.0.1:${a.port}`], reconnect: fast });
  t.after(() => pool.destroy());
  const held = pool.call('hold');
  await a.until((m) => m.held.length === 1);
  const connected = once(pool, 'connect');
  pool.setAddresses([`127.0.0.1:${b.port}`]);
  await connected;
  assert.deepEqual(pool.addresses, [`127.0.0.1:${b.port}`]);
  assert.equal(await pool.call('add', 1, 2), 3);
  assert.equal(b.received.length, 1);
  assert.equal(a.conns.size, 1); // still open: a call is in flight there
  a.held[0].release({ reply: 'done' });
  assert.equal(await held, 'done');
  while (a.conns.size !== 0) await once(a.conns.values().next().value.socket, 'close');
  assert.equal(a.received.length, 1);
});
