'use strict';

// Runs the examples of README.md: each ```js block, against the demo
// servers it names, checking that every console.log prints what the
// comment at the end of its line says. The servers are mocks of `twistd
// rpc`'s demo functions, unless TWIST_README_PORTS maps the README's ports
// to real ones ("9000=41234,9001=41235"), as the Go interop suite does.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { pathToFileURL } = require('node:url');
const { demoServer } = require('./demo-server.js');

const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
const examples = [...readme.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
const entry = pathToFileURL(path.join(__dirname, '..', 'index.mjs')).href;

// expected lists what the example's console.log calls print, from the
// comments at the ends of their lines.
function expected(code) {
  return [...code.matchAll(/console\.log\(.*\);\s*\/\/ (.*)$/gm)].map((m) => m[1]);
}

// realPorts reads TWIST_README_PORTS.
function realPorts() {
  const env = process.env.TWIST_README_PORTS;
  if (!env) return null;
  return new Map(env.split(',').map((pair) => pair.split('=').map(Number)));
}

// serve maps each port the example names to a server's: a real one's, or
// a new mock's, closed when the test ends.
async function serve(t, code) {
  const ports = new Map();
  const real = realPorts();
  for (const [, port] of code.matchAll(/(?:port: |127\.0\.0\.1:)(\d+)/g)) {
    if (ports.has(port)) continue;
    if (real) {
      assert.ok(real.has(Number(port)), `TWIST_README_PORTS has no server for port ${port}`);
      ports.set(port, real.get(Number(port)));
      continue;
    }
    const server = await demoServer();
    t.after(() => server.close());
    ports.set(port, server.port);
  }
  return code.replace(/(port: |127\.0\.0\.1:)(\d+)/g, (_, before, port) => before + ports.get(port));
}

function run(file) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [file], { timeout: 20000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

test('the README has examples', () => {
  assert.ok(examples.length >= 2);
  for (const code of examples) assert.ok(expected(code).length > 0, `an example prints nothing to check:\n${code}`);
});

examples.forEach((code, i) => {
  test(`README example ${i + 1} prints what it says`, async (t) => {
    const runnable = (await serve(t, code)).replace(/from 'twist-rpc'/g, `from '${entry}'`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'twist-rpc-readme-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, `example${i + 1}.mjs`);
    fs.writeFileSync(file, runnable);
    const stdout = await run(file);
    assert.deepEqual(stdout.trimEnd().split('\n'), expected(code));
  });
});
