'use strict';

// Pool: calls spread over connections to several addresses, each one
// reconnected with a capped exponential back-off. See README.md.

const { EventEmitter } = require('node:events');
const { Client, openSocket, clientConfig, checkTimeout } = require('./client.js');
const { ErrorKind, RpcError, ConnectionError } = require('./errors.js');

/** The back-off of reconnections unless told otherwise, in milliseconds. */
const DEFAULT_RECONNECT = Object.freeze({ initialDelay: 100, maxDelay: 30000, factor: 2, jitter: 0.1 });

/** How long one attempt to connect may take unless told otherwise, in milliseconds. */
const DEFAULT_CONNECT_TIMEOUT = 10000;

// parseAddress reads an address: 'host:port', '[ipv6]:port', a Unix socket
// path (anything with a '/'), or an object {host, port} or {path}.
function parseAddress(a) {
  if (typeof a === 'object' && a !== null) {
    if (a.path === undefined && a.port === undefined) throw new TypeError('twist-rpc: an address needs a port (or a Unix socket path)');
    return a.path !== undefined ? { path: a.path } : { host: a.host ?? 'localhost', port: a.port };
  }
  if (typeof a !== 'string') throw new TypeError(`twist-rpc: an address is a string or an object, got ${typeof a}`);
  if (a.includes('/')) return { path: a };
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(a);
  if (m === null) throw new TypeError(`twist-rpc: the address ${JSON.stringify(a)} is not host:port`);
  return { host: m[1] ?? (m[2] || 'localhost'), port: Number(m[3]) };
}

// addressKey names a parsed address: its path, or host:port.
function addressKey(a) {
  if (a.path !== undefined) return a.path;
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

// reconnectConfig checks the reconnect option and fills in the defaults.
function reconnectConfig(reconnect) {
  const r = { ...DEFAULT_RECONNECT, ...reconnect };
  checkTimeout(r.initialDelay, 'reconnect.initialDelay');
  checkTimeout(r.maxDelay, 'reconnect.maxDelay');
  if (!(r.initialDelay > 0 && r.factor >= 1 && r.jitter >= 0 && r.jitter < 1)) {
    throw new TypeError('twist-rpc: reconnect needs initialDelay > 0, factor >= 1 and 0 <= jitter < 1');
  }
  return r;
}

/**
 * Pool calls the functions of a service over one connection to each of its
 * addresses, taking the connected ones in turn. A connection that fails or
 * drops is made again after a delay that starts at reconnect.initialDelay
 * and grows by reconnect.factor up to reconnect.maxDelay, with a random
 * jitter of ±reconnect.jitter of it. A call made while no connection is up
 * waits for one, within its time-out. A call is never sent twice: one whose
 * connection drops fails with ConnectionError 'ConnectionLost'.
 *
 * Events: 'connect' (address) and 'disconnect' (address, reason) as the
 * connections come and go; 'connectError' (err, address) for an attempt
 * that failed; 'protocolError' (err, address) as a Client's.
 */
class Pool extends EventEmitter {
  #members;
  #leaving = new Set(); // removed members whose calls in flight are not all answered
  #next = 0;
  #waiters = new Set();
  #closed = false;
  #clientOptions;
  #timeout;
  #tls;
  #reconnect;
  #connectTimeout;

  /** connectPool() is the usual way to get a Pool; this one starts connecting at once. */
  constructor(options = {}) {
    super();
    const { addresses, tls, reconnect, connectTimeout = DEFAULT_CONNECT_TIMEOUT, allowEmpty, ...clientOptions } = options;
    if (!Array.isArray(addresses) || (addresses.length === 0 && !options.allowEmpty)) {
      throw new TypeError('twist-rpc: a pool needs a non-empty array of addresses');
    }
    this.#timeout = clientConfig(clientOptions).timeout;
    this.#clientOptions = clientOptions;
    this.#tls = tls;
    this.#reconnect = reconnectConfig(reconnect);
    this.#connectTimeout = checkTimeout(connectTimeout, 'connectTimeout');
    this.#members = [];
    this.setAddresses(addresses);
  }

  /**
   * setAddresses(addresses) makes the pool's addresses these, from the next
   * call on: new ones are connected; the connection of one left out takes no
   * new call, and is closed once its calls in flight are answered.
   */
  setAddresses(addresses) {
    const wanted = new Map(addresses.map((a) => {
      const address = parseAddress(a);
      return [addressKey(address), address];
    }));
    const kept = [];
    for (const m of this.#members) {
      if (wanted.has(m.key)) {
        kept.push(m);
        wanted.delete(m.key);
        continue;
      }
      m.removed = true;
      clearTimeout(m.timer);
      m.abort?.abort(new Error('twist-rpc: the address was removed'));
      if (m.client === null) continue;
      if (m.client.pending === 0) m.client.close();
      else this.#leaving.add(m);
    }
    this.#members = kept;
    for (const [key, address] of wanted) {
      const m = { key, address, client: null, delay: 0, timer: undefined, abort: undefined, removed: false };
      this.#members.push(m);
      if (!this.#closed) this.#dial(m);
    }
  }

  /** The addresses of the pool, connected or not, as 'host:port' or paths. */
  get addresses() {
    return this.#members.map((m) => m.key);
  }

  /** The number of addresses connected now. */
  get connected() {
    return this.#members.filter((m) => m.client !== null).length;
  }

  /** call(name, ...args) calls a function on the next connection and resolves with its reply. */
  call(name, ...args) {
    return this.callWithOptions(name, args);
  }

  /** callWithOptions(name, args, {timeout, noreply, signal}) is Client's, on the next connection. */
  async callWithOptions(name, args = [], options = {}) {
    const [m, rest] = await this.#take(options);
    return this.#on(m, (client) => client.callWithOptions(name, args, rest));
  }

  /** info({timeout, signal}) asks the server of the next connection about itself. */
  async info(options = {}) {
    const [m, rest] = await this.#take(options);
    return this.#on(m, (client) => client.info(rest));
  }

  // on runs f on m's client and closes it after the last call in flight
  // when m's address was removed meanwhile.
  async #on(m, f) {
    const client = m.client;
    try {
      return await f(client);
    } finally {
      if (m.removed && client.pending === 0) {
        this.#leaving.delete(m);
        client.close();
      }
    }
  }

  /**
   * close() stops reconnecting, fails the calls waiting for a connection
   * and closes every connection as Client.close() does. It resolves once
   * they are closed.
   */
  close() {
    return this.#shut((c) => c.close());
  }

  /** destroy() is close() without waiting for written calls to be sent. */
  destroy() {
    return this.#shut((c) => c.destroy());
  }

  async #shut(closeClient) {
    if (!this.#closed) {
      this.#closed = true;
      const reason = new ConnectionError('ClientClosed', 'twist-rpc: the pool is closed');
      for (const w of [...this.#waiters]) this.#drop(w).reject(reason);
      for (const m of this.#members) {
        clearTimeout(m.timer);
        m.abort?.abort(reason);
      }
    }
    const open = [...this.#members, ...this.#leaving].filter((m) => m.client !== null);
    await Promise.all(open.map((m) => closeClient(m.client)));
  }

  // dial connects m, and makes it again after a delay when that fails or,
  // later, the connection drops. It resolves with whether it connected.
  async #dial(m) {
    const abort = new AbortController();
    m.abort = abort;
    const timer = setTimeout(() => abort.abort(new Error(`twist-rpc: no connection within ${this.#connectTimeout} ms`)), this.#connectTimeout);
    let socket;
    try {
      socket = await openSocket({ ...m.address, tls: this.#tls }, abort.signal);
    } catch (err) {
      if (this.#closed || m.removed) return false;
      this.emit('connectError', err, m.address);
      this.#retry(m);
      return false;
    } finally {
      clearTimeout(timer);
      m.abort = undefined;
    }
    if (this.#closed || m.removed) {
      socket.destroy();
      return false;
    }
    const client = new Client(socket, this.#clientOptions);
    m.client = client;
    m.delay = 0;
    client.on('protocolError', (err) => this.emit('protocolError', err, m.address));
    client.on('close', (reason) => {
      m.client = null;
      this.#leaving.delete(m);
      if (this.#closed || m.removed) return;
      this.emit('disconnect', m.address, reason);
      this.#retry(m);
    });
    this.emit('connect', m.address);
    this.#wake();
    return true;
  }

  #retry(m) {
    const { initialDelay, maxDelay, factor, jitter } = this.#reconnect;
    m.delay = m.delay === 0 ? initialDelay : Math.min(m.delay * factor, maxDelay);
    const wait = m.delay * (1 + jitter * (2 * Math.random() - 1));
    m.timer = setTimeout(() => {
      m.timer = undefined;
      this.#dial(m);
    }, wait);
  }

  // pick returns the next connected member in turn, or null.
  #pick() {
    const n = this.#members.length;
    for (let i = 0; i < n; i++) {
      const m = this.#members[(this.#next + i) % n];
      if (m.client !== null) {
        this.#next = (this.#next + i + 1) % n;
        return m;
      }
    }
    return null;
  }

  // take resolves with a connected member and the call's options, its
  // time-out less the time spent waiting for the client.
  #take(options) {
    return new Promise((resolve, reject) => {
      if (this.#closed) throw new ConnectionError('ClientClosed', 'twist-rpc: the pool is closed');
      const timeout = checkTimeout(options.timeout ?? this.#timeout, 'timeout');
      const { signal } = options;
      signal?.throwIfAborted();
      const m = this.#pick();
      if (m !== null) {
        resolve([m, options]);
        return;
      }
      const w = { resolve, reject, options, timeout, start: Date.now(), timer: undefined, signal, onAbort: undefined };
      if (timeout > 0) {
        w.timer = setTimeout(() => {
          this.#drop(w);
          reject(new RpcError(ErrorKind.Timeout, `no connection within ${timeout} ms`));
        }, timeout);
      }
      if (signal) {
        w.onAbort = () => {
          this.#drop(w);
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.#waiters.add(w);
    });
  }

  #drop(w) {
    this.#waiters.delete(w);
    clearTimeout(w.timer);
    w.signal?.removeEventListener('abort', w.onAbort);
    return w;
  }

  // wake gives the calls waiting for a connection one each, in turn.
  #wake() {
    for (const w of [...this.#waiters]) {
      const m = this.#pick();
      if (m === null) return;
      this.#drop(w);
      const left = w.timeout > 0 ? Math.max(1, w.timeout - (Date.now() - w.start)) : 0;
      w.resolve([m, { ...w.options, timeout: left }]);
    }
  }
}

/**
 * connectPool({addresses, tls, reconnect, connectTimeout, signal, plus the
 * Client options}) makes a Pool and resolves with it once one of its
 * addresses is connected. It rejects, and closes the pool, when the first
 * attempt on every address failed (with the first one's error), or when
 * signal aborts first.
 */
function connectPool(options = {}) {
  const { signal, ...poolOptions } = options;
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const pool = new Pool(poolOptions);
    const failed = new Set(); // the addresses whose attempt failed
    let firstError;
    const settle = () => {
      pool.off('connect', onConnect);
      pool.off('connectError', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err) => {
      settle();
      pool.destroy().then(() => reject(err));
    };
    const onConnect = () => {
      settle();
      resolve(pool);
    };
    const onError = (err, address) => {
      firstError ??= err;
      failed.add(address);
      if (failed.size === options.addresses.length) fail(firstError);
    };
    const onAbort = () => fail(signal.reason);
    pool.on('connect', onConnect);
    pool.on('connectError', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

module.exports = { Pool, connectPool, DEFAULT_RECONNECT, DEFAULT_CONNECT_TIMEOUT, parseAddress };
