'use strict';

// A mock server with the demo functions of `twistd rpc` (Go package
// rpc/rpcdemo), answering as they do, for the README's examples.

const { MockServer } = require('./mock-server.js');

const poem = "Sonnet 18\n\nShall I compare thee to a summer's day?\n";

const functions = {
  add: (args) => args[0] + args[1],
  echo: (args, exact) => exact[0],
  'poetry.get': () => poem,
  cummingsify: (args) => {
    if (!/\p{L}/u.test(args[0])) throw { kind: 'HandlerError', detail: 'rpcdemo: gibberish: the text has no letters' };
    return args[0].toLowerCase();
  },
  fail: (args) => {
    throw { kind: 'HandlerError', detail: `rpcdemo: failed as asked: ${args[0]}` };
  },
};

const infoFunctions = [
  { name: 'add', arity: 2, params: ['int', 'int'] },
  { name: 'cummingsify', arity: 1, params: ['string'] },
  { name: 'echo', arity: 1, params: ['bson.RawValue'] },
  { name: 'fail', arity: 1, params: ['string'] },
  { name: 'poetry.get', arity: 0, params: [] },
  { name: 'sleep', arity: 1, params: ['float64'] },
];

// demoServer listens on a free loopback port.
function demoServer() {
  return new MockServer({
    functions,
    infoFunctions,
    // sleep is held: not answered.
    onMessage: (msg) => msg.call?.funcname === 'sleep',
  }).listen();
}

module.exports = { demoServer };
