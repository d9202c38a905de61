// Compiled, not run, by `npm run typecheck`: it checks index.d.ts against
// the uses the README shows. Lines marked @ts-expect-error must not compile.

import { connect, connectPool, Client, Pool, RpcError, ConnectionError, ErrorKind, DEFAULT_MAX_MESSAGE_SIZE } from 'twist-rpc';
import type { ServerInfo, ConnectionErrorCode, ErrorKindName } from 'twist-rpc';
import * as net from 'node:net';

async function main(): Promise<void> {
  const client: Client = await connect({ host: '127.0.0.1', port: 9000, timeout: 5000, maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE });
  const sum = await client.call<number>('add', 1, 2);
  const secure: Client = await connect({ host: 'localhost', port: 9000, tls: { ca: 'PEM' } });
  await secure.close();
  const pool: Pool = await connectPool({ addresses: ['127.0.0.1:9000', { host: 'b', port: 9001 }, { path: '/run/rpc.sock' }], tls: true, reconnect: { maxDelay: 5000 }, signal: AbortSignal.timeout(1000) });
  const spread: number = await pool.call<number>('add', 1, 2);
  const live: number = pool.connected;
  pool.on('disconnect', (address, reason) => void [address, reason?.code]);
  await pool.close();
  void [spread, live];
  const n: number = sum;
  const none: undefined = await client.callWithOptions('log', ['hello'], { noreply: true });
  const slow: string = await client.callWithOptions<string>('slow', [], { timeout: 100, signal: AbortSignal.timeout(50) });
  const info: ServerInfo = await client.info({ timeout: 1000 });
  const arities: number[] = info.functions.map((f) => f.arity);
  const pending: number = client.pending;
  client.on('close', (reason) => {
    const code: ConnectionErrorCode | undefined = reason?.code;
    void code;
  });
  client.on('protocolError', (err) => {
    const kind: string = err.kind;
    void kind;
  });
  try {
    await client.call('nope');
  } catch (err) {
    if (err instanceof RpcError && err.kind === ErrorKind.NoSuchFunction) {
      const detail: string = err.detail;
      const message: string = err.message;
      const wire: { message: string; detail: string } = err.toJSON();
      void detail, message, wire;
    } else if (err instanceof ConnectionError) {
      const lost: boolean = err.code === 'ConnectionLost';
      void lost;
    }
  }
  const kind: ErrorKindName = ErrorKind.Timeout;
  const reason: ConnectionError | null = await client.closed;
  await client.close();
  await client.destroy();
  client.unref().ref();

  const viaPath = await connect({ path: '/tmp/rpc.sock', bsonOptions: { useBigInt64: true } });
  const wrapped = new Client(net.connect(9000), { timeout: 0 });
  void [n, none, slow, arities, pending, kind, reason, viaPath, wrapped];

  // @ts-expect-error the function name is a string
  await client.call(42);
  // @ts-expect-error the arguments of callWithOptions are an array
  await client.callWithOptions('add', 1);
  // @ts-expect-error timeout is a number of milliseconds
  await connect({ port: 1, timeout: '5s' });
}

void main;
