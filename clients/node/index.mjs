// The ES module entry point: the same objects as the CommonJS one, so that
// instanceof RpcError holds whichever way the package is loaded.
import twist from './index.js';

export const { connect, Client, connectPool, Pool, connectEtcd, EtcdPool, RpcError, ConnectionError, ErrorKind, DEFAULT_MAX_MESSAGE_SIZE } = twist;
