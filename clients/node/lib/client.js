'use strict';

// The client of one connection, and how connections are opened. See README.md.

const net = require('node:net');
const tls = require('node:tls');
const { EventEmitter } = require('node:events');
const bson = require('bson');
const { ErrorKind, RpcError, ConnectionError } = require('./errors.js');
const { encodeFrame, FrameDecoder } = require('./frame.js');

/** The longest message body accepted unless told otherwise: 16 MiB, as the Go server. */
const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;

// setTimeout fires at once, with a warning, for longer delays.
const MAX_TIMEOUT = 2 ** 31 - 1;

// The deserialize options a caller may set; the others (raw, index...)
// would break the reading of answers.
const BSON_OPTION_KEYS = ['useBigInt64', 'promoteLongs', 'promoteValues', 'promoteBuffers', 'bsonRegExp', 'validation'];

function checkTimeout(value, what) {
  if (typeof value !== 'number' || !(value >= 0 && value <= MAX_TIMEOUT)) {
    throw new TypeError(`twist-rpc: ${what} must be a number of milliseconds from 0 to ${MAX_TIMEOUT}, got ${String(value)}`);
  }
  return value;
}

// clientConfig checks a Client's options and fills in the defaults.
function clientConfig(options) {
  const { timeout = 0, maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE, bsonOptions = {} } = options;
  checkTimeout(timeout, 'timeout');
  if (!Number.isInteger(maxMessageSize) || maxMessageSize < 5 || maxMessageSize > 0xffffffff) {
    throw new TypeError(`twist-rpc: maxMessageSize must be an integer from 5 to 2**32-1, got ${String(maxMessageSize)}`);
  }
  // Binary values come back as Buffers unless told otherwise.
  const decode = { promoteBuffers: true };
  for (const key of BSON_OPTION_KEYS) {
    if (bsonOptions[key] !== undefined) decode[key] = bsonOptions[key];
  }
  return { timeout, maxMessageSize, decode };
}

// toId reads the id of an answer whatever the BSON options made of it.
function toId(v) {
  switch (typeof v) {
    case 'number':
      return v;
    case 'bigint':
      return Number(v);
    case 'object':
      if (v === null) return undefined;
      if (typeof v.toNumber === 'function') return v.toNumber(); // Long
      return Number(v.valueOf()); // Int32, Double
    default:
      return undefined;
  }
}

function toRpcError(e) {
  if (e === null || typeof e !== 'object' || typeof e.message !== 'string') {
    return new RpcError(ErrorKind.BadMessage, 'the error of an error answer is not a {message, detail} document');
  }
  return new RpcError(e.message, typeof e.detail === 'string' ? e.detail : '');
}

function describe(err) {
  return err instanceof RpcError ? (err.detail ? `${err.kind}: ${err.detail}` : err.kind) : err.message;
}

/**
 * Client calls functions over one connection, multiplexed: every call gets
 * a fresh numeric id and answers are matched by id, in any order. It does
 * not reconnect: once the connection is gone, every call fails with the
 * ConnectionError that says why, and a new client is made with connect().
 *
 * Events: 'close' (reason: a ConnectionError, or null after close()) once
 * the connection is gone; 'protocolError' (an RpcError) for a frame that
 * answers no call: an error without an id, which the server sends before
 * closing on a message it cannot frame (TooLarge), or an undecodable frame.
 */
class Client extends EventEmitter {
  #socket;
  #timeout;
  #maxSize;
  #decode;
  #decoder;
  #pending = new Map(); // id -> {resolve, reject, expect, timer, signal, onAbort}
  #nextId = 0;
  #reason = null; // once set, the ConnectionError every call fails with
  #lastError = null; // the server's last word when it is not an answer
  #socketError = null;
  #ended = false;
  #resolveClosed;

  /**
   * Wraps a connected duplex stream (a net.Socket, a tls.TLSSocket...).
   * connect() is the usual way to get a Client.
   */
  constructor(socket, options = {}) {
    super();
    const config = clientConfig(options);
    this.#socket = socket;
    this.#timeout = config.timeout;
    this.#maxSize = config.maxMessageSize;
    this.#decode = config.decode;
    this.#decoder = new FrameDecoder(config.maxMessageSize);
    /** Resolves once the connection is gone: with null after close(), else with the ConnectionError. */
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    socket.on('data', (chunk) => this.#onData(chunk));
    socket.on('error', (err) => {
      this.#socketError ??= err;
    });
    socket.on('close', () => this.#onClose());
    if (socket.destroyed) process.nextTick(() => this.#onClose());
  }

  /** The number of calls waiting for their answer. */
  get pending() {
    return this.#pending.size;
  }

  /** call(name, ...args) calls a function and resolves with its reply. */
  call(name, ...args) {
    return this.callWithOptions(name, args);
  }

  /**
   * callWithOptions(name, args, {timeout, noreply, signal}) calls a
   * function with per-call options: timeout in milliseconds overrides the
   * client's (0: none); noreply sends a one-way call, which has no id and
   * gets no answer, and resolves with undefined once it is written; signal
   * (an AbortSignal) forgets the call and rejects with its reason.
   */
  callWithOptions(name, args = [], options = {}) {
    return new Promise((resolve, reject) => {
      if (typeof name !== 'string') throw new TypeError(`twist-rpc: the function name must be a string, got ${typeof name}`);
      if (!Array.isArray(args)) throw new TypeError('twist-rpc: the arguments must be an array');
      const call = { funcname: name, arguments: args };
      if (options.noreply) {
        this.#sendOneWay({ call, noreply: true }, resolve, reject);
        return;
      }
      this.#request(name, (id) => ({ call, id }), 'reply', options, resolve, reject);
    });
  }

  /**
   * info({timeout, signal}) asks the server about itself: its name,
   * version, maxMessageSize and functions ({name, arity, params}).
   */
  info(options = {}) {
    return new Promise((resolve, reject) => {
      this.#request('info', (id) => ({ info: {}, id }), 'info', options, resolve, reject);
    });
  }

  /**
   * close() fails the pending calls with a ConnectionError 'ClientClosed',
   * sends what is written (one-way calls included) and closes the
   * connection. It resolves once the connection is closed.
   */
  close() {
    if (this.#shut()) this.#socket.end(() => this.#socket.destroy());
    return this.closed.then(() => undefined);
  }

  /** destroy() is close() without waiting for written calls to be sent. */
  destroy() {
    if (this.#shut()) this.#socket.destroy();
    return this.closed.then(() => undefined);
  }

  /** ref() and unref() are the socket's: an unref'd client does not keep the process alive. */
  ref() {
    this.#socket.ref?.();
    return this;
  }

  unref() {
    this.#socket.unref?.();
    return this;
  }

  #shut() {
    if (this.#reason !== null) return false;
    this.#reason = new ConnectionError('ClientClosed', 'twist-rpc: the client is closed');
    this.#failPending(this.#reason);
    return true;
  }

  #request(what, build, expect, options, resolve, reject) {
    const timeout = checkTimeout(options.timeout ?? this.#timeout, 'timeout');
    const { signal } = options;
    if (this.#reason !== null) throw this.#reason;
    signal?.throwIfAborted();
    const id = ++this.#nextId;
    const frame = encodeFrame(build(id), this.#maxSize);
    const call = { resolve, reject, expect, timer: undefined, signal, onAbort: undefined };
    if (timeout > 0) {
      call.timer = setTimeout(() => {
        this.#forget(id);
        reject(new RpcError(ErrorKind.Timeout, `no answer to ${what} within ${timeout} ms`));
      }, timeout);
    }
    if (signal) {
      call.onAbort = () => {
        this.#forget(id);
        reject(signal.reason);
      };
      signal.addEventListener('abort', call.onAbort, { once: true });
    }
    this.#pending.set(id, call);
    this.#socket.write(frame);
  }

  #sendOneWay(doc, resolve, reject) {
    if (this.#reason !== null) throw this.#reason;
    const frame = encodeFrame(doc, this.#maxSize);
    this.#socket.write(frame, (err) => {
      if (err) {
        reject(new ConnectionError('ConnectionLost', `twist-rpc: connection lost before a one-way call was sent: ${err.message}`, { cause: err }));
      } else {
        resolve();
      }
    });
  }

  // forget drops a pending call and returns it.
  #forget(id) {
    const call = this.#pending.get(id);
    if (call === undefined) return undefined;
    this.#pending.delete(id);
    clearTimeout(call.timer);
    call.signal?.removeEventListener('abort', call.onAbort);
    return call;
  }

  #failPending(err) {
    for (const id of [...this.#pending.keys()]) this.#forget(id).reject(err);
  }

  #onData(chunk) {
    for (const body of this.#decoder.push(chunk)) this.#onMessage(body);
    if (this.#decoder.error) this.#socket.destroy();
  }

  #onMessage(body) {
    let msg;
    try {
      msg = bson.deserialize(body, this.#decode);
    } catch (err) {
      this.#protocolError(new RpcError(ErrorKind.BadMessage, `an undecodable frame: ${err.message}`));
      return;
    }
    const id = toId(msg.id);
    if (id === undefined) {
      this.#protocolError(
        msg.error !== undefined ? toRpcError(msg.error) : new RpcError(ErrorKind.BadMessage, 'an answer without an id'),
      );
      return;
    }
    const call = this.#forget(id);
    if (call === undefined) return; // the answer to a call that timed out or was aborted
    this.#lastError = null;
    if (msg.error !== undefined) {
      call.reject(toRpcError(msg.error));
    } else if (call.expect in msg) {
      call.resolve(msg[call.expect]);
    } else {
      call.reject(new RpcError(ErrorKind.BadMessage, `the answer has no ${call.expect}`));
    }
  }

  #protocolError(err) {
    this.#lastError = err;
    this.emit('protocolError', err);
  }

  #onClose() {
    if (this.#ended) return;
    this.#ended = true;
    let reason = null;
    if (this.#reason === null) {
      const cause = this.#decoder.error ?? this.#lastError ?? this.#socketError;
      const message = cause
        ? `twist-rpc: connection lost: ${describe(cause)}`
        : 'twist-rpc: connection lost: closed by the server';
      reason = new ConnectionError('ConnectionLost', message, cause ? { cause } : undefined);
      this.#reason = reason;
      this.#failPending(reason);
    }
    this.#resolveClosed(reason);
    this.emit('close', reason);
  }
}

// openSocket connects to one address, {host, port} or {path}, over TLS
// when tls is true or an object of tls.connect options, and resolves with
// the socket once it is connected (and the TLS handshake done); it rejects
// with the socket's error, or with signal's reason when signal aborts
// first.
function openSocket({ host = 'localhost', port, path, tls: tlsOptions }, signal) {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const where = path !== undefined ? { path } : { host, port };
    let socket;
    let ready = 'connect';
    if (tlsOptions) {
      // servername makes the certificate check name the host, as https does.
      const servername = path === undefined && !net.isIP(host) ? host : undefined;
      socket = tls.connect({ servername, ...(tlsOptions === true ? {} : tlsOptions), ...where });
      ready = 'secureConnect';
    } else {
      socket = net.connect(where);
    }
    const onAbort = () => socket.destroy(signal.reason);
    const settle = () => {
      signal?.removeEventListener('abort', onAbort);
      socket.removeListener(ready, onConnect);
      socket.removeListener('error', onError);
    };
    const onError = (err) => {
      settle();
      reject(err);
    };
    const onConnect = () => {
      settle();
      // Calls are small and wait for their answers: Nagle's delay would
      // only add latency.
      socket.setNoDelay(true);
      resolve(socket);
    };
    socket.once(ready, onConnect);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// checkAddress checks the options that say where to connect.
function checkAddress({ port, path }) {
  if (path === undefined && port === undefined) throw new TypeError('twist-rpc: connect needs a port (or a Unix socket path)');
}

/**
 * connect({host, port} or {path}, plus tls and the Client options)
 * connects over TCP, TLS (tls: true, or tls.connect's options) or a Unix
 * socket and resolves with a Client; it rejects with the socket's error, or
 * with signal's reason when signal (an AbortSignal, such as
 * AbortSignal.timeout(ms)) aborts before the connection is made. The signal
 * has no effect once connected.
 */
async function connect(options = {}) {
  const { host, port, path, tls: tlsOptions, signal, ...clientOptions } = options;
  checkAddress(options);
  clientConfig(clientOptions); // fail before connecting
  const socket = await openSocket({ host, port, path, tls: tlsOptions }, signal);
  return new Client(socket, clientOptions);
}

module.exports = { connect, Client, DEFAULT_MAX_MESSAGE_SIZE, openSocket, checkAddress, clientConfig, checkTimeout };
