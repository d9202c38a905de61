'use strict';

// connectEtcd against a real etcd (Debian's etcd-server; skipped without
// it): the instances registered under the service's prefix are called,
// one registered later is used, one deleted is not.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { once } = require('node:events');
const { connectEtcd } = require('../index.js');
const { MockServer } = require('./mock-server.js');

const haveEtcd = spawnSync('etcd', ['--version']).status === 0;

async function freePort() {
  const s = await new MockServer().listen();
  const { port } = s;
  await s.close();
  return port;
}

// post sends one request to etcd's JSON gateway.
async function post(endpoint, p, body) {
  const res = await fetch(`${endpoint}${p}`, { method: 'POST', body: JSON.stringify(body) });
  assert.equal(res.status, 200, `${p}: ${await res.clone().text()}`);
  return res.json();
}

const b64 = (s) => Buffer.from(s).toString('base64');

async function startEtcd(t) {
  const [client, peer] = [await freePort(), await freePort()];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'twist-etcd-'));
  const endpoint = `http://127.0.0.1:${client}`;
  const proc = spawn('etcd', ['--name', 't', '--data-dir', dir,
    '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `t=http://127.0.0.1:${peer}`], { stdio: 'ignore' });
  t.after(async () => {
    proc.kill();
    if (proc.exitCode === null) await once(proc, 'exit');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  // etcd takes a moment to elect itself; ask until it answers.
  for (let i = 0; ; i++) {
    try {
      await post(endpoint, '/v3/kv/range', { key: b64('x') });
      return endpoint;
    } catch (err) {
      if (i === 200) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const register = (endpoint, name, port) =>
  post(endpoint, '/v3/kv/put', { key: b64(`/twist/rpc/calc/${name}`), value: b64(JSON.stringify({ address: `127.0.0.1:${port}` })) });

test('connectEtcd calls the instances registered in etcd, and follows their changes', { skip: !haveEtcd && 'etcd is not installed (Debian etcd-server)' }, async (t) => {
  const endpoint = await startEtcd(t);
  const servers = [];
  for (let i = 0; i < 3; i++) {
    const s = await new MockServer().listen();
    t.after(() => s.close());
    servers.push(s);
  }
  await register(endpoint, 'a', servers[0].port);
  await register(endpoint, 'b', servers[1].port);
  // Not an instance of calc: another service's key, and a nested one.
  await post(endpoint, '/v3/kv/put', { key: b64('/twist/rpc/other/x'), value: b64(JSON.stringify({ address: `127.0.0.1:${servers[2].port}` })) });
  await post(endpoint, '/v3/kv/put', { key: b64('/twist/rpc/calc/nested/x'), value: b64(JSON.stringify({ address: `127.0.0.1:${servers[2].port}` })) });

  const pool = await connectEtcd({ endpoints: [endpoint.replace('http://', '')], service: 'calc', reconnect: { initialDelay: 5, maxDelay: 20 } });
  t.after(() => pool.destroy());
  assert.deepEqual(pool.addresses.sort(), [`127.0.0.1:${servers[0].port}`, `127.0.0.1:${servers[1].port}`].sort());
  while (pool.connected < 2) await once(pool, 'connect');
  for (let i = 0; i < 4; i++) assert.equal(await pool.call('add', i, 1), i + 1);
  assert.deepEqual(servers.map((s) => s.received.length), [2, 2, 0]);

  // A new instance is used without a new pool.
  const connected = once(pool, 'connect');
  await register(endpoint, 'c', servers[2].port);
  await connected;
  for (let i = 0; i < 3; i++) await pool.call('add', i, 1);
  assert.deepEqual(servers.map((s) => s.received.length), [3, 3, 1]);

  // A deleted one takes no call from then on.
  const key = b64('/twist/rpc/calc/a');
  const updated = once(pool, 'update');
  await post(endpoint, '/v3/kv/deleterange', { key });
  assert.equal((await updated)[0].length, 2);
  for (let i = 0; i < 4; i++) await pool.call('add', i, 1);
  assert.deepEqual(servers.map((s) => s.received.length), [3, 5, 3]);
});
