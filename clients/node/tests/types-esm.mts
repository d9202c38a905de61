// The ES module view of index.d.ts, compiled by `npm run typecheck`.

import { connect, RpcError, ErrorKind } from 'twist-rpc';

const client = await connect({ port: 9000 });
const sum: number = await client.call<number>('add', 1, 2);
const err = new RpcError(ErrorKind.BadArguments, 'add takes 2 arguments');
void [sum, err];
