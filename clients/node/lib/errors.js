'use strict';

/** The kinds of error of the protocol: the message field of an error answer. */
const ErrorKind = Object.freeze({
  NoSuchFunction: 'NoSuchFunction',
  BadArguments: 'BadArguments',
  HandlerError: 'HandlerError',
  TooLarge: 'TooLarge',
  Timeout: 'Timeout',
  BadMessage: 'BadMessage',
});

/**
 * RpcError is an error answer, or a Timeout or TooLarge found by the client
 * itself. As on the wire, message is the kind of error and detail says what
 * happened, for people; kind repeats message so that it survives code that
 * rewrites messages.
 */
class RpcError extends Error {
  constructor(kind, detail = '', options = undefined) {
    super(kind, options);
    this.kind = kind;
    this.detail = detail;
  }

  /** toString gives "RpcError: kind: detail". */
  toString() {
    return this.detail ? `${this.name}: ${this.kind}: ${this.detail}` : `${this.name}: ${this.kind}`;
  }

  /** toJSON gives the wire form, {message, detail}. */
  toJSON() {
    return { message: this.kind, detail: this.detail };
  }
}
// On the prototype, so that the stack trace, captured by the constructor,
// already says RpcError.
RpcError.prototype.name = 'RpcError';

/**
 * ConnectionError fails calls that cannot be answered because the
 * connection is gone: code is 'ConnectionLost' when it dropped (cause says
 * why: the socket's error, the server's last error without an id such as
 * TooLarge, or the client's own TooLarge for an answer above its limit) and
 * 'ClientClosed' after close().
 */
class ConnectionError extends Error {
  constructor(code, message, options = undefined) {
    super(message, options);
    this.code = code;
  }
}
ConnectionError.prototype.name = 'ConnectionError';

module.exports = { ErrorKind, RpcError, ConnectionError };
