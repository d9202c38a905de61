// Types of twist-rpc, the Node.js client of Twist's framed RPC protocol.

import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';

/** The longest message body accepted unless told otherwise: 16 MiB. */
export declare const DEFAULT_MAX_MESSAGE_SIZE: number;

/** The kinds of error of the protocol: the `message` of an error answer. */
export type ErrorKindName = 'NoSuchFunction' | 'BadArguments' | 'HandlerError' | 'TooLarge' | 'Timeout' | 'BadMessage';

export declare const ErrorKind: Readonly<{ [K in ErrorKindName]: K }>;

/**
 * An error answer, or a Timeout or TooLarge found by the client itself.
 * `message` is the kind (as on the wire), `kind` repeats it, `detail` says
 * what happened, for people.
 */
export declare class RpcError extends Error {
  constructor(kind: string, detail?: string, options?: { cause?: unknown });
  /** The kind of error; a server may name kinds beyond ErrorKindName. */
  readonly kind: ErrorKindName | (string & {});
  readonly detail: string;
  /** "RpcError: kind: detail" */
  toString(): string;
  /** The wire form. */
  toJSON(): { message: string; detail: string };
}

/** Why a call cannot be answered: the connection is gone or the client closed. */
export declare class ConnectionError extends Error {
  constructor(code: ConnectionErrorCode, message: string, options?: { cause?: unknown });
  readonly code: ConnectionErrorCode;
}

export type ConnectionErrorCode = 'ConnectionLost' | 'ClientClosed';

/** The BSON deserialize options a client may set for the answers it reads. */
export interface BsonOptions {
  /** int64 values as bigint. Default false. */
  useBigInt64?: boolean;
  /** int64 values that fit in 53 bits as numbers. Default true. */
  promoteLongs?: boolean;
  /** BSON values as their closest JS types. Default true. */
  promoteValues?: boolean;
  /** Binary values as Buffers. Default true (bson's own default is false). */
  promoteBuffers?: boolean;
  /** Regular expressions as BSONRegExp. Default false. */
  bsonRegExp?: boolean;
  validation?: { utf8: boolean | Record<string, true> | Record<string, false> };
}

export interface ClientOptions {
  /** Default time-out of every call, in milliseconds; 0 (the default) means none. */
  timeout?: number;
  /** The longest message body sent or accepted, in bytes. Default 16 MiB. */
  maxMessageSize?: number;
  /** How answers are decoded. */
  bsonOptions?: BsonOptions;
}

export interface ConnectOptions extends ClientOptions {
  /** Connect over TLS: true, or tls.connect's options (ca, cert, key, servername...). */
  tls?: boolean | import('node:tls').ConnectionOptions;
  /** Default 'localhost'. */
  host?: string;
  /** The TCP port; needed unless `path` is given. */
  port?: number;
  /** A Unix socket path, instead of host and port. */
  path?: string;
  /** Aborts connecting (AbortSignal.timeout(ms) for a connect time-out); no effect once connected. */
  signal?: AbortSignal;
}

export interface CallOptions {
  /** Overrides the client's time-out, in milliseconds; 0 means none. */
  timeout?: number;
  /** Forgets the call and rejects with the signal's reason when it aborts. */
  signal?: AbortSignal;
}

export interface CallWithOptions extends CallOptions {
  /** A one-way call: no id, no answer; resolves with undefined once written. */
  noreply?: boolean;
}

export interface FunctionInfo {
  name: string;
  arity: number;
  params: string[];
}

/** What a server says about itself. */
export interface ServerInfo {
  name: string;
  version: string;
  maxMessageSize: number;
  functions: FunctionInfo[];
  [key: string]: unknown;
}

/** What a Client and a Pool both do: call, and close. */
export interface Caller {
  call<T = any>(name: string, ...args: unknown[]): Promise<T>;
  callWithOptions(name: string, args: unknown[], options: CallWithOptions & { noreply: true }): Promise<undefined>;
  callWithOptions<T = any>(name: string, args?: unknown[], options?: CallWithOptions): Promise<T>;
  info(options?: CallOptions): Promise<ServerInfo>;
  /** Fails pending calls with 'ClientClosed', flushes what is written, closes. */
  close(): Promise<void>;
  /** close() without flushing. */
  destroy(): Promise<void>;
}

export interface Client extends Caller {}

export declare class Client extends EventEmitter {
  /** Wraps a connected duplex stream (net.Socket, tls.TLSSocket...). */
  constructor(socket: Duplex, options?: ClientOptions);
  /** Resolves once the connection is gone: null after close()/destroy(), else the ConnectionError. */
  readonly closed: Promise<ConnectionError | null>;
  /** The number of calls waiting for their answer. */
  readonly pending: number;
  ref(): this;
  unref(): this;

  on(event: 'close', listener: (reason: ConnectionError | null) => void): this;
  on(event: 'protocolError', listener: (err: RpcError) => void): this;
  once(event: 'close', listener: (reason: ConnectionError | null) => void): this;
  once(event: 'protocolError', listener: (err: RpcError) => void): this;
  off(event: 'close', listener: (reason: ConnectionError | null) => void): this;
  off(event: 'protocolError', listener: (err: RpcError) => void): this;
}

/** Connects over TCP or a Unix socket. */
export declare function connect(options: ConnectOptions): Promise<Client>;

/** An address of a pool: 'host:port', '[::1]:port', a Unix socket path, or an object. */
export type Address = string | { host?: string; port: number } | { path: string };

/** The back-off of a pool's reconnections, in milliseconds. */
export interface ReconnectOptions {
  /** The delay after the first failure. Default 100. */
  initialDelay?: number;
  /** The longest delay. Default 30000. */
  maxDelay?: number;
  /** How much the delay grows after each failure. Default 2. */
  factor?: number;
  /** The delay varies at random by this fraction of it, either way. Default 0.1. */
  jitter?: number;
}

export interface PoolOptions extends ClientOptions {
  addresses: Address[];
  tls?: boolean | import('node:tls').ConnectionOptions;
  reconnect?: ReconnectOptions;
  /** How long one attempt to connect may take, in milliseconds. Default 10000. */
  connectTimeout?: number;
}

export interface ConnectPoolOptions extends PoolOptions {
  /** Aborts connectPool before the first connection. */
  signal?: AbortSignal;
}

export interface Pool extends Caller {}

/** Calls spread over one connection to each address, each made again when it drops. */
export declare class Pool extends EventEmitter {
  constructor(options: PoolOptions);
  /** The number of addresses connected now. */
  readonly connected: number;
  /** The pool's addresses, connected or not, as 'host:port' or paths. */
  readonly addresses: string[];
  /**
   * Makes the pool's addresses these from the next call on: new ones are
   * connected; one left out takes no new call, and its connection closes
   * once its calls in flight are answered.
   */
  setAddresses(addresses: Address[]): void;

  on(event: 'connect', listener: (address: Address) => void): this;
  on(event: 'disconnect', listener: (address: Address, reason: ConnectionError | null) => void): this;
  on(event: 'connectError', listener: (err: Error, address: Address) => void): this;
  on(event: 'protocolError', listener: (err: RpcError, address: Address) => void): this;
}

/** Makes a Pool and resolves once one of its addresses is connected. */
export declare function connectPool(options: ConnectPoolOptions): Promise<Pool>;

export interface ConnectEtcdOptions extends Omit<PoolOptions, 'addresses'> {
  /** etcd's client URLs, or host:port (http, or https with etcdTls). */
  endpoints: string[];
  /** The service's name, as registered by rpc/discovery/etcd. */
  service: string;
  /** The key prefix services are registered under. Default '/twist/rpc'. */
  prefix?: string;
  /** TLS to etcd: true, or https options (ca, cert, key...). */
  etcdTls?: boolean | import('node:https').RequestOptions;
  /** An etcd user, for an etcd with authentication enabled. */
  user?: string;
  password?: string;
  /** The most instances kept track of. Default 1024. */
  maxInstances?: number;
  /** The largest registration value read, in bytes. Default 65536. */
  maxValueSize?: number;
  /** The longest answer of etcd read, in bytes. Default 16 MiB. */
  maxResponseSize?: number;
  /** Aborts connectEtcd before it resolves. */
  signal?: AbortSignal;
}

export interface EtcdPool extends Caller {}

/** A Pool whose addresses follow the instances of a service registered in etcd. */
export declare class EtcdPool extends Pool {
  on(event: 'update', listener: (addresses: string[]) => void): this;
  on(event: 'etcdError', listener: (err: Error) => void): this;
  on(event: 'connect', listener: (address: Address) => void): this;
  on(event: 'disconnect', listener: (address: Address, reason: ConnectionError | null) => void): this;
  on(event: 'connectError', listener: (err: Error, address: Address) => void): this;
  on(event: 'protocolError', listener: (err: RpcError, address: Address) => void): this;
}

/**
 * Reads the instances of a service from etcd (its JSON gateway), watches
 * them, and resolves with an EtcdPool over them once one is connected.
 */
export declare function connectEtcd(options: ConnectEtcdOptions): Promise<EtcdPool>;
