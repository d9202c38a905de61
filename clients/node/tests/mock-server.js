'use strict';

// A stand-in for the Go server in tests: net.createServer speaking the
// framed protocol with its own, deliberately naive, framing (a buffer that
// is concatenated), so that the client's decoder is checked against a
// second implementation.

const net = require('node:net');
const tls = require('node:tls');
const bson = require('bson');

function frame(doc) {
  const body = bson.serialize(doc);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

// Held is the answer of a call the test answers itself: release(doc)
// sends {...doc, id}.
class Held {
  constructor(conn, msg) {
    this.conn = conn;
    this.msg = msg;
  }

  release(doc) {
    this.conn.send({ ...doc, id: this.msg.id });
  }
}

// The functions every mock server has. A function gets the arguments
// promoted to JS values, and as BSON objects (Int32, Double, Long...) that
// keep their wire types; it returns the reply, or throws {kind, detail} for
// an error answer. 'hold' answers nothing and queues the call in
// server.held.
const builtins = {
  add: (args) => args[0] + args[1],
  echo: (args, exact) => exact[0],
  nothing: () => null,
  fail: (args) => {
    throw { kind: args[0], detail: args[1] };
  },
};

class MockServer {
  // tls ({key, cert}) serves over TLS; infoFunctions, if given, is the
  // functions list of info answers.
  constructor({ functions = {}, onMessage, maxMessageSize = 16 * 1024 * 1024, tls: tlsOptions, infoFunctions } = {}) {
    this.functions = { ...builtins, ...functions };
    this.infoFunctions = infoFunctions;
    this.onMessage = onMessage; // (msg, conn) => true when it answered itself
    this.maxMessageSize = maxMessageSize;
    this.received = []; // every message, decoded, in order
    this.bodies = []; // every message as it came, a BSON document
    this.held = []; // Held calls to 'hold', in order
    this.conns = new Set();
    this.waiters = [];
    const serve = (socket) => this.#serve(socket);
    this.server = tlsOptions ? tls.createServer(tlsOptions, serve) : net.createServer(serve);
  }

  // listen starts the server on a free loopback port, or on a Unix
  // socket path.
  listen(path) {
    return new Promise((resolve) => {
      if (path) this.server.listen(path, () => resolve(this));
      else this.server.listen(0, '127.0.0.1', () => resolve(this));
    });
  }

  get port() {
    return this.server.address().port;
  }

  // until resolves once pred(this) holds, checked after every message.
  until(pred) {
    if (pred(this)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  close() {
    for (const c of this.conns) c.socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  #serve(socket) {
    const conn = {
      socket,
      send: (doc) => socket.write(frame(doc)),
      sendRaw: (buf) => socket.write(buf),
    };
    this.conns.add(conn);
    socket.on('close', () => this.conns.delete(conn));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4) {
        const n = buf.readUInt32BE(0);
        if (n > this.maxMessageSize) {
          // As the Go server: an error without an id, then close.
          conn.send({ error: { message: 'TooLarge', detail: `message of ${n} bytes, at most ${this.maxMessageSize}` } });
          socket.end();
          buf = Buffer.alloc(0);
          return;
        }
        if (buf.length < 4 + n) break;
        const body = buf.subarray(4, 4 + n);
        buf = buf.subarray(4 + n);
        this.bodies.push(body);
        this.#handle(bson.deserialize(body), conn, body);
      }
    });
  }

  #handle(msg, conn, body) {
    this.received.push(msg);
    if (!(this.onMessage && this.onMessage(msg, conn))) this.#answer(msg, conn, body);
    this.waiters = this.waiters.filter((w) => !(w.pred(this) && (w.resolve(), true)));
  }

  #answer(msg, conn, body) {
    if (msg.info) {
      const functions =
        this.infoFunctions ??
        Object.keys(this.functions)
          .sort()
          .map((name) => ({ name, arity: 2, params: ['int', 'int'] }));
      conn.send({ info: { name: 'mock', version: '1.0', maxMessageSize: this.maxMessageSize, functions }, id: msg.id });
      return;
    }
    const { funcname, arguments: args } = msg.call;
    if (funcname === 'hold') {
      this.held.push(new Held(conn, msg));
      return;
    }
    let answer;
    const fn = this.functions[funcname];
    if (!fn) {
      answer = { error: { message: 'NoSuchFunction', detail: `no function named ${funcname}` } };
    } else {
      try {
        answer = { reply: fn(args, bson.deserialize(body, { promoteValues: false }).call.arguments) };
      } catch (e) {
        answer = { error: { message: e.kind, detail: e.detail } };
      }
    }
    if (msg.noreply) return;
    conn.send({ ...answer, id: msg.id });
  }
}

module.exports = { MockServer, frame };
