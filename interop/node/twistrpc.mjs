// Calls Twist's RPC functions with twist-rpc, the Node.js client of the
// framed protocol (clients/node), connected to TWIST_RPC_HOST and
// TWIST_RPC_PORT, and prints what came back as one JSON object for the Go
// test to check.
import { connect, RpcError } from 'twist-rpc';

// failure describes the error a call failed with.
async function failure(promise) {
  try {
    return { resolved: await promise };
  } catch (e) {
    return { isRpcError: e instanceof RpcError, kind: e.kind, detail: e.detail };
  }
}

const client = await connect({
  host: process.env.TWIST_RPC_HOST,
  port: Number(process.env.TWIST_RPC_PORT),
  timeout: 20000,
});
const out = {
  add: await client.call('add', 1, 2),
  // Many calls in flight on the one connection, the first answered last.
  concurrent: await Promise.all([
    client.call('sleep', 0.05),
    ...Array.from({ length: 100 }, (_, i) => client.call('add', i, i)),
  ]),
  noreply: await client.callWithOptions('add', [1, 2], { noreply: true }),
  echo: await client.call('echo', { b: 1, a: ['x', 2.5, true, null] }),
  cummingsify: await client.call('cummingsify', 'Thou Art More Lovely'),
  poemFirstLine: (await client.call('poetry.get')).split('\n')[0],
  error: await failure(client.call('fail', 'on purpose')),
  unknown: await failure(client.call('nosuch')),
  badArguments: await failure(client.call('add', 1, '2')),
  info: await client.info(),
  pending: client.pending,
};
await client.close();
console.log(JSON.stringify(out));
