'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');
const { once } = require('node:events');
const bson = require('bson');
const { connect, Client, RpcError, ConnectionError, ErrorKind } = require('../index.js');
const { MockServer, frame } = require('./mock-server.js');

// session starts a mock server and a client connected to it, and closes
// both when the test ends.
async function session(t, serverOptions = {}, clientOptions = {}) {
  const server = await new MockServer(serverOptions).listen();
  const client = await connect({ host: '127.0.0.1', port: server.port, ...clientOptions });
  t.after(async () => {
    await client.destroy();
    await server.close();
  });
  return { server, client };
}

const isKind = (kind) => (err) => err instanceof RpcError && err.kind === kind && err.message === kind;
const isConn = (code) => (err) => err instanceof ConnectionError && err.code === code;

test('add returns the sum as a JS number', async (t) => {
  const { client } = await session(t);
  const sum = await client.call('add', 1, 2);
  assert.equal(sum, 3);
  assert.equal(typeof sum, 'number');
});

test('a call is {call: {funcname, arguments}, id} with a fresh numeric id', async (t) => {
  const { server, client } = await session(t);
  await client.call('add', 1, 2);
  await client.call('echo', 'hi');
  await client.call('nothing');
  assert.deepEqual(server.received[0], { call: { funcname: 'add', arguments: [1, 2] }, id: server.received[0].id });
  assert.deepEqual(server.received[2].call, { funcname: 'nothing', arguments: [] });
  const ids = server.received.map((m) => m.id);
  assert.ok(ids.every((id) => typeof id === 'number'));
  assert.equal(new Set(ids).size, 3);
  assert.ok(server.received.every((m) => !('noreply' in m)));
});

test('a function without a result replies null', async (t) => {
  const { client } = await session(t);
  assert.equal(await client.call('nothing'), null);
});

test('concurrent calls answered out of order are matched by id', async (t) => {
  const { server, client } = await session(t);
  const calls = [0, 1, 2, 3, 4].map((i) => client.call('hold', i));
  await server.until((s) => s.held.length === 5);
  assert.equal(client.pending, 5);
  for (const i of [3, 0, 4, 2, 1]) server.held[i].release({ reply: `answer ${server.held[i].msg.call.arguments[0]}` });
  assert.deepEqual(await Promise.all(calls), ['answer 0', 'answer 1', 'answer 2', 'answer 3', 'answer 4']);
  assert.equal(client.pending, 0);
});

test('an error answer rejects with an RpcError of its kind and detail', async (t) => {
  const { client } = await session(t);
  const err = await client.call('nope').catch((e) => e);
  assert.ok(err instanceof RpcError && err instanceof Error);
  assert.equal(err.name, 'RpcError');
  assert.equal(err.kind, ErrorKind.NoSuchFunction);
  assert.equal(err.message, 'NoSuchFunction');
  assert.equal(err.detail, 'no function named nope');
  assert.equal(String(err), 'RpcError: NoSuchFunction: no function named nope');
  assert.deepEqual(JSON.parse(JSON.stringify(err)), { message: 'NoSuchFunction', detail: 'no function named nope' });
  assert.match(err.stack, /^RpcError: NoSuchFunction/);
});

test('every kind of error answer keeps its kind', async (t) => {
  const { client } = await session(t);
  for (const kind of Object.values(ErrorKind)) {
    await assert.rejects(client.call('fail', kind, `a ${kind}`), (err) => isKind(kind)(err) && err.detail === `a ${kind}`);
  }
});

test('a call that gets no answer in time rejects with Timeout and is forgotten; its late answer is ignored', async (t) => {
  const { server, client } = await session(t, {}, { timeout: 20 });
  await assert.rejects(client.call('hold', 'late'), (err) => isKind('Timeout')(err) && /no answer to hold within 20 ms/.test(err.detail));
  assert.equal(client.pending, 0);
  await server.until((s) => s.held.length === 1);
  server.held[0].release({ reply: 'too late' });
  assert.equal(await client.call('add', 2, 2), 4, 'the connection goes on after the late answer');
});

test('a per-call timeout overrides the client default, and 0 means no limit', async (t) => {
  const { server, client } = await session(t, {}, { timeout: 20 });
  const patient = client.callWithOptions('hold', ['patient'], { timeout: 0 });
  const quick = client.callWithOptions('hold', ['quick'], { timeout: 10 });
  const byDefault = client.call('hold', 'default');
  await assert.rejects(quick, isKind('Timeout'));
  await assert.rejects(byDefault, isKind('Timeout'));
  await server.until((s) => s.held.length === 3);
  server.held[0].release({ reply: 'waited' });
  assert.equal(await patient, 'waited');
});

test('a client without a default timeout waits; a per-call timeout still applies', async (t) => {
  const { server, client } = await session(t);
  await assert.rejects(client.callWithOptions('hold', [], { timeout: 5 }), isKind('Timeout'));
  const waiting = client.call('hold');
  await server.until((s) => s.held.length === 2);
  server.held[1].release({ reply: 'eventually' });
  assert.equal(await waiting, 'eventually');
});

test('noreply sends a one-way call without an id and awaits no answer', async (t) => {
  const { server, client } = await session(t);
  assert.equal(await client.callWithOptions('add', [1, 2], { noreply: true }), undefined);
  assert.equal(client.pending, 0);
  assert.equal(await client.call('add', 5, 5), 10);
  const oneWay = server.received[0];
  assert.deepEqual(oneWay, { call: { funcname: 'add', arguments: [1, 2] }, noreply: true });
  assert.ok(!('id' in oneWay));
});

test('an aborted call rejects with the signal reason and is forgotten', async (t) => {
  const { server, client } = await session(t);
  const ac = new AbortController();
  const call = client.callWithOptions('hold', [], { signal: ac.signal });
  await server.until((s) => s.held.length === 1);
  ac.abort(new Error('changed my mind'));
  await assert.rejects(call, /changed my mind/);
  assert.equal(client.pending, 0);
  const before = server.received.length;
  await assert.rejects(client.callWithOptions('add', [1, 1], { signal: AbortSignal.abort() }), { name: 'AbortError' });
  assert.equal(await client.call('add', 1, 1), 2);
  assert.equal(server.received.length, before + 1, 'the call aborted beforehand was not sent');
});

test('a dropped connection fails the pending calls, resolves closed and emits close', async (t) => {
  const { server, client } = await session(t);
  const onClose = once(client, 'close');
  const calls = [client.call('hold'), client.call('hold')];
  await server.until((s) => s.held.length === 2);
  for (const c of server.conns) c.socket.destroy();
  for (const call of calls) {
    await assert.rejects(call, (err) => isConn('ConnectionLost')(err) && /connection lost/.test(err.message));
  }
  const reason = await client.closed;
  assert.ok(isConn('ConnectionLost')(reason));
  assert.deepEqual(await onClose, [reason]);
  assert.equal(client.pending, 0);
  await assert.rejects(client.call('add', 1, 2), isConn('ConnectionLost'));
  await assert.rejects(client.info(), isConn('ConnectionLost'));
});

test('a call above the server limit: the server says TooLarge and closes, the pending calls fail with that cause', async (t) => {
  const { server, client } = await session(t, { maxMessageSize: 100 });
  const protocolErrors = [];
  client.on('protocolError', (err) => protocolErrors.push(err));
  const held = client.call('hold');
  await server.until((s) => s.held.length === 1);
  const big = client.call('echo', 'x'.repeat(200));
  await assert.rejects(big, (err) => isConn('ConnectionLost')(err) && err.cause.kind === 'TooLarge');
  await assert.rejects(held, (err) => isConn('ConnectionLost')(err) && /TooLarge: message of \d+ bytes, at most 100/.test(err.message));
  assert.equal(protocolErrors.length, 1);
  assert.ok(isKind('TooLarge')(protocolErrors[0]));
});

test('an answer above maxMessageSize destroys the connection and fails the pending calls', async (t) => {
  const { server, client } = await session(t, {}, { maxMessageSize: 1000 });
  const small = client.call('hold');
  const big = client.call('hold');
  await server.until((s) => s.held.length === 2);
  server.held[0].release({ reply: 'fits' });
  server.held[1].release({ reply: 'x'.repeat(2000) });
  assert.equal(await small, 'fits');
  await assert.rejects(big, (err) => isConn('ConnectionLost')(err) && err.cause instanceof RpcError && err.cause.kind === 'TooLarge');
  assert.match((await client.closed).message, /a frame of \d+ bytes, more than maxMessageSize 1000/);
});

test('a call above maxMessageSize is refused before it is sent', async (t) => {
  const { server, client } = await session(t, {}, { maxMessageSize: 100 });
  await assert.rejects(client.call('echo', 'x'.repeat(200)), isKind('TooLarge'));
  await assert.rejects(client.callWithOptions('echo', ['x'.repeat(200)], { noreply: true }), isKind('TooLarge'));
  assert.equal(await client.call('add', 1, 2), 3);
  assert.equal(server.received.length, 1);
});

test('answers written a byte at a time are decoded', async (t) => {
  const { server, client } = await session(t);
  const calls = [client.call('hold'), client.call('hold')];
  await server.until((s) => s.held.length === 2);
  const bytes = Buffer.concat(server.held.map((h, i) => frame({ reply: { n: i, s: 'ü'.repeat(i + 3) }, id: h.msg.id })));
  const sock = server.held[0].conn.socket;
  for (let i = 0; i < bytes.length; i++) sock.write(bytes.subarray(i, i + 1));
  assert.deepEqual(await Promise.all(calls), [{ n: 0, s: 'üüü' }, { n: 1, s: 'üüüü' }]);
});

test('many answers in one chunk are all matched', async (t) => {
  const { server, client } = await session(t);
  const calls = Array.from({ length: 200 }, (_, i) => client.call('hold', i));
  await server.until((s) => s.held.length === 200);
  const chunk = Buffer.concat(server.held.map((h) => frame({ reply: h.msg.call.arguments[0] * 2, id: h.msg.id })).reverse());
  server.held[0].conn.sendRaw(chunk);
  assert.deepEqual(await Promise.all(calls), Array.from({ length: 200 }, (_, i) => i * 2));
});

test('info sends {info: {}, id} and resolves with the server description', async (t) => {
  const { server, client } = await session(t);
  const info = await client.info();
  assert.equal(info.name, 'mock');
  assert.equal(info.maxMessageSize, 16 * 1024 * 1024);
  assert.deepEqual(info.functions.map((f) => f.name), ['add', 'echo', 'fail', 'nothing']);
  assert.deepEqual(server.received[0], { info: {}, id: server.received[0].id });
});

test('an undecodable frame or an answer without an id is a protocolError; the connection goes on', async (t) => {
  const { server, client } = await session(t);
  const errors = [];
  client.on('protocolError', (err) => errors.push(err));
  const call = client.call('hold');
  await server.until((s) => s.held.length === 1);
  const garbage = Buffer.from([0, 0, 0, 3, 1, 2, 3]);
  server.held[0].conn.sendRaw(Buffer.concat([garbage, frame({ reply: 1 })]));
  server.held[0].release({ reply: 'still here' });
  assert.equal(await call, 'still here');
  assert.deepEqual(errors.map((e) => e.kind), ['BadMessage', 'BadMessage']);
  assert.match(errors[0].detail, /undecodable/);
  assert.match(errors[1].detail, /without an id/);
});

test('close fails the pending calls with ClientClosed but sends the one-way calls written before it', async (t) => {
  const { server, client } = await session(t);
  const onClose = once(client, 'close');
  const pending = client.call('hold');
  await server.until((s) => s.held.length === 1);
  const oneWay = client.callWithOptions('echo', ['bye'], { noreply: true });
  const rejected = assert.rejects(pending, isConn('ClientClosed'));
  await client.close();
  await rejected;
  await oneWay;
  assert.equal(await client.closed, null);
  assert.deepEqual(await onClose, [null]);
  await server.until((s) => s.received.length === 2);
  assert.deepEqual(server.received[1], { call: { funcname: 'echo', arguments: ['bye'] }, noreply: true });
  await assert.rejects(client.call('add', 1, 2), isConn('ClientClosed'));
});

// wireType returns the BSON type of the first argument of a call, read
// without promotion so that each wire type has its own class.
function wireType(body) {
  const v = bson.deserialize(body, { promoteValues: false }).call.arguments[0];
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return v._bsontype ?? typeof v; // Int32, Double, Long, Binary, or string, boolean, object
}

test('BSON mapping: arguments go out as int32, double or int64 by value and type', async (t) => {
  const { server, client } = await session(t);
  const cases = [
    [1, 'Int32'],
    [-(2 ** 31), 'Int32'],
    [2 ** 31 - 1, 'Int32'],
    [2 ** 31, 'Double'], // an integer beyond int32 is a double: exact up to 2**53
    [2 ** 53 - 1, 'Double'],
    [1.5, 'Double'],
    [-0, 'Double'],
    [10n, 'Long'], // bigint: int64
    [bson.Long.fromString('9007199254740993'), 'Long'],
    [new bson.Int32(7), 'Int32'],
    [new bson.Double(7), 'Double'],
    [Buffer.from([1, 2]), 'Binary'],
    ['s', 'string'],
    [true, 'boolean'],
    [null, 'null'],
    [{ a: 1 }, 'object'],
    [[1], 'array'],
  ];
  for (const [v] of cases) await client.call('echo', v);
  assert.deepEqual(server.bodies.map(wireType), cases.map(([, type]) => type));
});

test('BSON mapping: replies are promoted to JS values, a Long beyond 2**53 stays a Long', async (t) => {
  const { client } = await session(t);
  const [big, small, huge, double, buf, doc] = await Promise.all([
    client.call('echo', bson.Long.fromNumber(2 ** 40)),
    client.call('echo', 7n),
    client.call('echo', bson.Long.fromString('9007199254740993')),
    client.call('echo', new bson.Double(2)),
    client.call('echo', Buffer.from('hi')),
    client.call('echo', { list: [1, 'two', { three: 3 }] }),
  ]);
  assert.equal(big, 2 ** 40);
  assert.equal(small, 7);
  assert.ok(huge instanceof bson.Long);
  assert.equal(huge.toString(), '9007199254740993');
  assert.equal(double, 2);
  assert.ok(Buffer.isBuffer(buf));
  assert.equal(buf.toString(), 'hi');
  assert.deepEqual(doc, { list: [1, 'two', { three: 3 }] });
});

test('BSON mapping: undefined and functions are left out of objects, undefined is null in arrays, dates round-trip', async (t) => {
  const { client } = await session(t);
  const reply = await client.call('echo', { u: undefined, f() {}, a: [undefined, 1], d: new Date(5) });
  assert.deepEqual(reply, { a: [null, 1], d: new Date(5) });
});

test('bsonOptions.useBigInt64 gives int64 replies as bigint', async (t) => {
  const { client } = await session(t, {}, { bsonOptions: { useBigInt64: true } });
  assert.equal(await client.call('echo', 9007199254740993n), 9007199254740993n);
  assert.equal(await client.call('echo', 5n), 5n);
  assert.equal(await client.call('add', 1, 2), 3, 'int32 stays a number');
});

test('an answer is matched whatever integer type its id comes back as, whatever the bsonOptions', async (t) => {
  for (const bsonOptions of [{}, { useBigInt64: true }, { promoteValues: false }, { promoteLongs: false }]) {
    const { server, client } = await session(t, {}, { bsonOptions });
    const calls = [client.call('hold'), client.call('hold'), client.call('hold')];
    await server.until((s) => s.held.length === 3);
    const [a, b, c] = server.held;
    a.conn.send({ reply: 'long', id: bson.Long.fromNumber(a.msg.id) });
    b.conn.send({ reply: 'double', id: new bson.Double(b.msg.id) });
    c.conn.send({ reply: 'int32', id: new bson.Int32(c.msg.id) });
    assert.deepEqual(await Promise.all(calls), ['long', 'double', 'int32'], JSON.stringify(bsonOptions));
  }
});

test('a Client on a socket that is already closed fails its calls with ConnectionLost', async () => {
  const socket = new net.Socket();
  socket.destroy();
  const client = new Client(socket);
  assert.ok(isConn('ConnectionLost')(await client.closed));
  await assert.rejects(client.call('add', 1, 2), isConn('ConnectionLost'));
});

test('bad arguments to the client reject with a TypeError', async (t) => {
  const { client } = await session(t);
  await assert.rejects(client.call(42), TypeError);
  await assert.rejects(client.callWithOptions('add', 1), TypeError);
  await assert.rejects(client.callWithOptions('add', [1, 2], { timeout: -1 }), TypeError);
  await assert.rejects(connect({ host: '127.0.0.1' }), TypeError);
  await assert.rejects(connect({ port: 1, maxMessageSize: 0 }), TypeError);
  assert.throws(() => new Client(new net.Socket(), { timeout: 'soon' }), TypeError);
  assert.equal(await client.call('add', 1, 2), 3);
});

test('connect rejects with the socket error when nobody listens', async () => {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  await assert.rejects(connect({ host: '127.0.0.1', port }), { code: 'ECONNREFUSED' });
});

test('connect with an aborted signal rejects; a signal aborted once connected has no effect', async (t) => {
  const server = await new MockServer().listen();
  t.after(() => server.close());
  await assert.rejects(connect({ host: '127.0.0.1', port: server.port, signal: AbortSignal.abort() }), { name: 'AbortError' });
  const ac = new AbortController();
  const client = await connect({ host: '127.0.0.1', port: server.port, signal: ac.signal });
  ac.abort();
  assert.equal(await client.call('add', 2, 3), 5);
  await client.close();
});

test('connect over a Unix socket path', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'twist-rpc-'));
  const sock = path.join(dir, 'rpc.sock');
  const server = await new MockServer().listen(sock);
  t.after(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const client = await connect({ path: sock });
  assert.equal(await client.call('add', 20, 22), 42);
  await client.close();
});

test('a Client wraps a socket connected by the caller', async (t) => {
  const server = await new MockServer().listen();
  t.after(() => server.close());
  const socket = net.connect({ host: '127.0.0.1', port: server.port });
  await once(socket, 'connect');
  const client = new Client(socket, { timeout: 1000 });
  assert.equal(await client.call('add', 1, 1), 2);
  await client.close();
  assert.ok(socket.destroyed);
});

test('the ES module entry exports the same objects', async () => {
  const esm = await import('../index.mjs');
  const cjs = require('../index.js');
  for (const name of ['connect', 'Client', 'RpcError', 'ConnectionError', 'ErrorKind', 'DEFAULT_MAX_MESSAGE_SIZE']) {
    assert.equal(esm[name], cjs[name], name);
  }
});
