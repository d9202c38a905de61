'use strict';

// twist-rpc: a Node.js client of Twist's framed RPC protocol. See README.md.

const { connect, Client, DEFAULT_MAX_MESSAGE_SIZE } = require('./lib/client.js');
const { connectPool, Pool } = require('./lib/pool.js');
const { connectEtcd, EtcdPool } = require('./lib/etcd.js');
const { ErrorKind, RpcError, ConnectionError } = require('./lib/errors.js');

module.exports = { connect, Client, connectPool, Pool, connectEtcd, EtcdPool, RpcError, ConnectionError, ErrorKind, DEFAULT_MAX_MESSAGE_SIZE };
