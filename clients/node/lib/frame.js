'use strict';

// The framing of Twist's framed RPC protocol: every frame is a 4-byte
// big-endian unsigned length of the body, then the body (one BSON document).

const bson = require('bson');
const { RpcError } = require('./errors.js');

const HEADER = 4;

// bson serializes into a shared scratch buffer of 17 MiB and copies the
// document out. A document longer than the buffer either throws a
// RangeError or, for strings, comes out truncated with its true length;
// either way it is longer than any limit below the buffer's size.
const BSON_SCRATCH = 17 * 1024 * 1024;

/**
 * encodeFrame serializes doc into one frame. It refuses, with an RpcError of
 * kind TooLarge, a document longer than maxSize. (bson.calculateObjectSize
 * cannot decide that beforehand: it miscounts -0 and Int32 values.)
 */
function encodeFrame(doc, maxSize) {
  // A limit above the scratch buffer grows it, for good, to fit the limit.
  const options = maxSize >= BSON_SCRATCH ? { minInternalBufferSize: maxSize + 1 } : {};
  let body;
  try {
    body = bson.serialize(doc, options);
  } catch (err) {
    if (err instanceof RangeError) {
      throw new RpcError('TooLarge', `message too large to serialize, at most ${maxSize} bytes`, { cause: err });
    }
    throw err;
  }
  if (body.length > maxSize) {
    throw new RpcError('TooLarge', `message of ${body.length} bytes, at most ${maxSize}`);
  }
  const frame = Buffer.allocUnsafe(HEADER + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, HEADER);
  return frame;
}

/**
 * FrameDecoder cuts a byte stream, in chunks split anywhere, into frame
 * bodies. It holds at most one frame (and the chunk that completes it):
 * a length prefix above maxSize sets error to an RpcError of kind TooLarge
 * as soon as the prefix is complete, before any of the body is buffered,
 * and the decoder takes nothing more (the stream cannot be framed after it).
 */
class FrameDecoder {
  constructor(maxSize) {
    this.maxSize = maxSize;
    this.chunks = [];
    this.buffered = 0;
    this.need = -1; // the body length once the prefix is read, else -1
    this.error = null;
  }

  /** push adds a chunk and returns the bodies it completes, in order. */
  push(chunk) {
    if (this.error) return [];
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const bodies = [];
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < HEADER) break;
        const n = this.take(HEADER).readUInt32BE(0);
        if (n > this.maxSize) {
          this.chunks = [];
          this.buffered = 0;
          this.error = new RpcError('TooLarge', `a frame of ${n} bytes, more than maxMessageSize ${this.maxSize}`);
          break;
        }
        this.need = n;
      }
      if (this.buffered < this.need) break;
      bodies.push(this.take(this.need));
      this.need = -1;
    }
    return bodies;
  }

  // take removes the first n bytes: a view into the first chunk when it
  // holds them all (the common case, no copy), else a copy.
  take(n) {
    const first = this.chunks[0];
    this.buffered -= n;
    if (n === 0) return Buffer.alloc(0);
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    let i = 0;
    while (off < n) {
      const c = this.chunks[i];
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) i++;
      else this.chunks[i] = c.subarray(k);
    }
    // One splice, not a shift per chunk: a frame may arrive a byte at a time.
    this.chunks.splice(0, i);
    return out;
  }
}

module.exports = { encodeFrame, FrameDecoder, HEADER };
