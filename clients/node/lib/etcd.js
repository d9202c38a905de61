'use strict';

// A Pool whose addresses are the instances of a service registered in etcd
// by rpc/discovery/etcd (see README.md). etcd is read through its JSON
// gateway (/v3/kv/range, /v3/watch, /v3/auth/authenticate) with node:http
// and node:https: no gRPC stack, no dependency.

const http = require('node:http');
const https = require('node:https');
const { Pool } = require('./pool.js');

/** The key prefix services are registered under, as the Go package's DefaultPrefix. */
const DEFAULT_PREFIX = '/twist/rpc';

/** Limits on what is read from etcd unless told otherwise. */
const DEFAULT_ETCD_LIMITS = Object.freeze({
  maxInstances: 1024, // instances of one service kept track of
  maxValueSize: 64 * 1024, // bytes of one registration value
  maxResponseSize: 16 * 1024 * 1024, // bytes of one answer of the gateway (a list, or one watch message)
});

const b64 = (s) => Buffer.from(s).toString('base64');
const unb64 = (s) => Buffer.from(s ?? '', 'base64');

// request posts body (JSON) to endpoint's path and calls onMessage with each
// JSON object of the answer (a list answers one; a watch, one per line,
// until it ends). It resolves when the answer ends, and rejects on an HTTP
// error, a malformed or over-long message, or signal's abort.
function request(endpoint, path, body, { token, tls, maxResponseSize, signal, timeout }, onMessage) {
  return new Promise((resolve, reject) => {
    const url = new URL(path, endpoint);
    const mod = url.protocol === 'https:' ? https : http;
    const headers = { 'content-type': 'application/json' };
    if (token) headers.authorization = token;
    const req = mod.request(url, { method: 'POST', headers, signal, timeout, ...(url.protocol === 'https:' ? tls : {}) }, (res) => {
      let buf = '';
      const fail = (err) => {
        res.destroy();
        reject(err);
      };
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim() !== '' && !deliver(line)) return;
        }
        if (buf.length > maxResponseSize) fail(new Error(`twist-rpc: an etcd answer longer than ${maxResponseSize} bytes`));
      });
      res.on('end', () => {
        if (buf.trim() !== '' && !deliver(buf)) return;
        resolve();
      });
      res.on('error', reject);
      // deliver hands one message on, and says whether to go on.
      function deliver(text) {
        let msg;
        try {
          msg = JSON.parse(text);
        } catch {
          fail(new Error(`twist-rpc: etcd answered ${path} with something that is not JSON`));
          return false;
        }
        const err = res.statusCode !== 200 ? msg : (msg.error ?? msg.result?.error);
        if (err) {
          fail(new Error(`twist-rpc: etcd ${path}: HTTP ${res.statusCode}: ${String(err.message ?? err.error ?? 'error').slice(0, 200)}`));
          return false;
        }
        onMessage(msg);
        return true;
      }
    });
    req.on('timeout', () => req.destroy(new Error(`twist-rpc: no answer from etcd within ${timeout} ms`)));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/**
 * EtcdResolver keeps the addresses of a service's instances up to date: it
 * lists the service's keys, watches them from the list's revision, and on a
 * compacted revision, a broken watch or an error lists and watches again,
 * after a delay that grows from 100 ms to 5 s while etcd fails. update is
 * called with the sorted addresses after each change; onError with each
 * failure.
 */
class EtcdResolver {
  #o;
  #abort = new AbortController();
  #token = null;
  #next = 0; // the endpoint to try first

  constructor(options, update, onError) {
    this.#o = options;
    this.update = update;
    this.onError = onError;
  }

  // run resolves until close(); first resolves after the first list.
  async run(first) {
    let delay = 100;
    while (!this.#abort.signal.aborted) {
      const endpoint = this.#o.endpoints[this.#next];
      try {
        const [set, rev] = await this.#list(endpoint);
        delay = 100;
        this.#publish(set);
        first?.();
        first = undefined;
        await this.#watch(endpoint, set, rev);
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        this.#token = null;
        this.#next = (this.#next + 1) % this.#o.endpoints.length;
        this.onError(err);
        await new Promise((resolve) => {
          const { signal } = this.#abort;
          const wake = () => {
            clearTimeout(timer);
            signal.removeEventListener('abort', wake);
            resolve();
          };
          const timer = setTimeout(wake, delay);
          signal.addEventListener('abort', wake, { once: true });
        });
        delay = Math.min(2 * delay, 5000);
      }
    }
  }

  close() {
    this.#abort.abort(new Error('twist-rpc: the etcd resolver is closed'));
  }

  #post(endpoint, path, body, onMessage, timeout = 10000) {
    const { tls, maxResponseSize } = this.#o;
    return request(endpoint, path, body, { token: this.#token, tls, maxResponseSize, signal: this.#abort.signal, timeout }, onMessage);
  }

  async #authenticate(endpoint) {
    if (!this.#o.user || this.#token) return;
    await this.#post(endpoint, '/v3/auth/authenticate', { name: this.#o.user, password: this.#o.password }, (msg) => {
      this.#token = msg.token;
    });
  }

  async #list(endpoint) {
    await this.#authenticate(endpoint);
    const { prefix } = this.#o;
    const set = new Map();
    let rev = 0;
    await this.#post(endpoint, '/v3/kv/range', { key: b64(prefix), range_end: b64(prefixEnd(prefix)) }, (msg) => {
      rev = Number(msg.header?.revision ?? 0);
      for (const kv of msg.kvs ?? []) this.#add(set, kv);
    });
    return [set, rev];
  }

  // watch applies the changes after rev until the watch ends, is
  // compacted or canceled.
  async #watch(endpoint, set, rev) {
    const { prefix } = this.#o;
    const create = { create_request: { key: b64(prefix), range_end: b64(prefixEnd(prefix)), start_revision: rev + 1 } };
    let ended = null;
    const watch = new AbortController();
    const onAbort = () => watch.abort();
    this.#abort.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await request(endpoint, '/v3/watch', create, { token: this.#token, tls: this.#o.tls, maxResponseSize: this.#o.maxResponseSize, signal: watch.signal, timeout: 0 }, (msg) => {
        const r = msg.result ?? {};
        if (Number(r.compact_revision ?? 0) !== 0 || r.canceled) {
          ended = new Error(`twist-rpc: etcd watch ${r.canceled ? 'canceled' : 'compacted'}; listing again`);
          watch.abort();
          return;
        }
        if (!r.events?.length) return;
        for (const ev of r.events) {
          if (ev.type === 'DELETE') set.delete(unb64(ev.kv.key).toString());
          else this.#add(set, ev.kv);
        }
        this.#publish(set);
      });
    } catch (err) {
      if (ended === null) throw err;
    } finally {
      this.#abort.signal.removeEventListener('abort', onAbort);
    }
    if (!this.#abort.signal.aborted) throw ended ?? new Error('twist-rpc: etcd watch ended; listing again');
  }

  // add decodes one key's registration into set, skipping what does not
  // fit the limits or does not decode.
  #add(set, kv) {
    const key = unb64(kv.key).toString();
    const name = key.slice(this.#o.prefix.length);
    if (name === '' || name.includes('/')) return; // a nested service's key
    const value = unb64(kv.value);
    if (value.length > this.#o.maxValueSize) return;
    if (!set.has(key) && set.size >= this.#o.maxInstances) return;
    let address;
    try {
      address = JSON.parse(value.toString()).address;
    } catch {
      address = undefined;
    }
    if (typeof address === 'string' && address !== '') set.set(key, address);
    else set.delete(key);
  }

  #publish(set) {
    this.update([...new Set(set.values())].sort());
  }
}

// prefixEnd is the end of the key range of prefix: its last byte plus one.
function prefixEnd(prefix) {
  const b = Buffer.from(prefix);
  b[b.length - 1]++;
  return b.toString();
}

// endpointURL makes an etcd endpoint a URL: host:port gets http://, or
// https:// when etcdTls is given.
function endpointURL(e, secure) {
  if (typeof e !== 'string' || e === '') throw new TypeError('twist-rpc: an etcd endpoint is a non-empty string');
  return /^https?:\/\//.test(e) ? e : `${secure ? 'https' : 'http'}://${e}`;
}

/**
 * EtcdPool is a Pool whose addresses follow the instances registered in
 * etcd; close() and destroy() stop following too.
 */
class EtcdPool extends Pool {
  #resolver;

  constructor(options, resolver) {
    super({ ...options, addresses: [], allowEmpty: true });
    this.#resolver = resolver;
  }

  close() {
    this.#resolver.close();
    return super.close();
  }

  destroy() {
    this.#resolver.close();
    return super.destroy();
  }
}

/**
 * connectEtcd({endpoints, service, prefix, etcdTls, user, password,
 * maxInstances, maxValueSize, maxResponseSize, signal, plus the Pool
 * options}) makes an EtcdPool of the service's instances registered in
 * etcd and resolves with it once etcd has been read and one instance is
 * connected, or none is registered, or the first attempt on each failed
 * (the pool goes on trying). It rejects, and closes the pool, when signal
 * aborts first. Events: a Pool's, and 'etcdError' (err) for each failed
 * read of etcd (the pool goes on with the addresses it has).
 */
function connectEtcd(options = {}) {
  const { endpoints, service, prefix = DEFAULT_PREFIX, etcdTls, user, password, signal, maxInstances, maxValueSize, maxResponseSize, ...poolOptions } = options;
  if (!Array.isArray(endpoints) || endpoints.length === 0) throw new TypeError('twist-rpc: connectEtcd needs a non-empty array of endpoints');
  if (typeof service !== 'string' || service === '' || service.includes('/')) throw new TypeError('twist-rpc: the service is a non-empty name without /');
  if (password !== undefined && !user) throw new TypeError('twist-rpc: a password needs a user');
  const resolver = new EtcdResolver({
    endpoints: endpoints.map((e) => endpointURL(e, etcdTls !== undefined)),
    prefix: `${prefix.replace(/\/$/, '')}/${service}/`,
    tls: etcdTls === true ? {} : etcdTls,
    user,
    password,
    maxInstances: maxInstances ?? DEFAULT_ETCD_LIMITS.maxInstances,
    maxValueSize: maxValueSize ?? DEFAULT_ETCD_LIMITS.maxValueSize,
    maxResponseSize: maxResponseSize ?? DEFAULT_ETCD_LIMITS.maxResponseSize,
  }, (addresses) => {
    pool.setAddresses(addresses);
    pool.emit('update', addresses);
  }, (err) => pool.emit('etcdError', err));
  const pool = new EtcdPool(poolOptions, resolver);
  return new Promise((resolve, reject) => {
    const onAbort = () => pool.destroy().then(() => reject(signal.reason));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    resolver.run(() => {
      let failed = 0;
      const done = () => {
        signal?.removeEventListener('abort', onAbort);
        pool.off('connect', done);
        pool.off('connectError', onError);
        resolve(pool);
      };
      const onError = () => {
        if (++failed >= pool.addresses.length) done();
      };
      if (pool.addresses.length === 0 || pool.connected > 0) return done();
      pool.on('connect', done);
      pool.on('connectError', onError);
    });
  });
}

module.exports = { connectEtcd, EtcdPool, DEFAULT_PREFIX, DEFAULT_ETCD_LIMITS };
