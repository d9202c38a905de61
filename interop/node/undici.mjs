// Drives Twist's web server with undici (the HTTP client inside Node's
// fetch): keep-alive requests, a POST body, a chunked upload and a large
// body; prints one line per result for interop/undici_test.go.
import { Agent, request, fetch } from 'undici';

const base = process.argv[2];
const agent = new Agent({ connections: 1 });

for (let i = 0; i < 3; i++) {
  const r = await request(base + '/echo?n=' + i, { dispatcher: agent });
  console.log(r.statusCode, await r.body.text());
}
const post = await fetch(base + '/echo', { method: 'POST', body: 'posted', dispatcher: agent });
console.log(post.status, await post.text());
const stream = new ReadableStream({
  start(c) { c.enqueue(new TextEncoder().encode('chunk1 ')); c.enqueue(new TextEncoder().encode('chunk2')); c.close(); },
});
const chunked = await fetch(base + '/echo', { method: 'PUT', body: stream, duplex: 'half', dispatcher: agent });
console.log(chunked.status, await chunked.text());
const big = await fetch(base + '/big', { dispatcher: agent });
console.log(big.status, (await big.arrayBuffer()).byteLength);
const missing = await globalThis.fetch(base + '/missing');
console.log(missing.status);
await agent.close();
