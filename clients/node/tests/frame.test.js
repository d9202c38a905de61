'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const bson = require('bson');
const { encodeFrame, FrameDecoder } = require('../lib/frame.js');
const { RpcError } = require('../lib/errors.js');
const { frame } = require('./mock-server.js');

const docs = [{ reply: 3, id: 1 }, { reply: 'a string of some length', id: 2 }, { error: { message: 'Timeout', detail: 'late' }, id: 3 }];
const stream = Buffer.concat(docs.map(frame));
const decodeAll = (bodies) => bodies.map((b) => bson.deserialize(b));

test('encodeFrame writes a big-endian body length, then the BSON document', () => {
  const doc = { call: { funcname: 'add', arguments: [1, 2] }, id: 7 };
  const f = encodeFrame(doc, 1 << 20);
  const body = bson.serialize(doc);
  assert.equal(f.readUInt32BE(0), body.length);
  assert.deepEqual(f.subarray(4), body);
});

test('encodeFrame refuses a document above the limit with TooLarge', () => {
  // -0 and Int32 are values that bson.calculateObjectSize miscounts.
  const doc = { call: { funcname: 'echo', arguments: ['x'.repeat(100), -0, new bson.Int32(1)] }, id: 1 };
  const size = bson.serialize(doc).length;
  assert.equal(encodeFrame(doc, size).length, 4 + size);
  assert.throws(() => encodeFrame(doc, size - 1), (err) => err instanceof RpcError && err.kind === 'TooLarge');
});

test('encodeFrame refuses a document longer than bson\'s scratch buffer, whatever its shape', () => {
  const nine = 9 * 1024 * 1024;
  const max = 16 * 1024 * 1024;
  const isTooLarge = (err) => err instanceof RpcError && err.kind === 'TooLarge';
  // Two strings that bson would truncate silently, and one binary that makes it throw.
  assert.throws(() => encodeFrame({ s: ['x'.repeat(nine), 'y'.repeat(nine)] }, max), isTooLarge);
  assert.throws(() => encodeFrame({ b: Buffer.alloc(2 * nine) }, max), isTooLarge);
});

test('encodeFrame with a limit above bson\'s scratch buffer encodes documents up to the limit', () => {
  const max = 20 * 1024 * 1024;
  const doc = { s: ['x'.repeat(9 * 1024 * 1024), 'y'.repeat(9 * 1024 * 1024)] };
  const f = encodeFrame(doc, max);
  assert.deepEqual(bson.deserialize(f.subarray(4)), doc);
  assert.equal(f.readUInt32BE(0), f.length - 4);
});

test('frames split at every byte boundary are decoded', () => {
  for (let i = 0; i <= stream.length; i++) {
    const d = new FrameDecoder(1 << 20);
    const bodies = [...d.push(stream.subarray(0, i)), ...d.push(stream.subarray(i))];
    assert.deepEqual(decodeAll(bodies), docs, `split at ${i}`);
    assert.equal(d.buffered, 0);
  }
});

test('frames fed a byte at a time are decoded', () => {
  const d = new FrameDecoder(1 << 20);
  const bodies = [];
  for (let i = 0; i < stream.length; i++) bodies.push(...d.push(stream.subarray(i, i + 1)));
  assert.deepEqual(decodeAll(bodies), docs);
});

test('many frames in one chunk are all decoded, in order', () => {
  const many = Array.from({ length: 500 }, (_, i) => ({ reply: i, id: i + 1 }));
  const d = new FrameDecoder(1 << 20);
  assert.deepEqual(decodeAll(d.push(Buffer.concat(many.map(frame)))), many);
});

test('a length prefix above the limit stops the decoder before the body is buffered', () => {
  const body = bson.serialize({ reply: 'x'.repeat(64), id: 1 });
  const d = new FrameDecoder(body.length - 1);
  const first = frame({ reply: 1, id: 9 }); // fits: decoded before the error
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  assert.deepEqual(decodeAll(d.push(Buffer.concat([first, head]))), [{ reply: 1, id: 9 }]);
  assert.ok(d.error instanceof RpcError);
  assert.equal(d.error.kind, 'TooLarge');
  assert.equal(d.buffered, 0);
  assert.deepEqual(d.push(body), [], 'nothing is taken after the error');
  assert.equal(d.buffered, 0);
});

test('a frame exactly at the limit is accepted', () => {
  const f = frame({ reply: 'y'.repeat(10), id: 1 });
  const d = new FrameDecoder(f.length - 4);
  assert.equal(d.push(f).length, 1);
  assert.equal(d.error, null);
});
