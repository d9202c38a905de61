"""Call Twist's RPC functions from Python Twisted, over the framed protocol.

Usage: twisted_client.py HOST PORT. Twisted's own Int32StringReceiver does
the framing (a 4-byte big-endian length, then the body) and pymongo's bson
module the BSON. Prints one JSON object with the answers, keyed by the ids
of the calls, for the Go test to check.
"""

import json
import sys

import bson
from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.protocols.basic import Int32StringReceiver

CALLS = {
    1: ("add", [1, 2]),
    # Answered when its timer fires; the calls after it do not wait.
    2: ("sleep", [0.05]),
    3: ("echo", [{"b": 1, "a": ["x", 2.5, True, None]}]),
    4: ("cummingsify", ["Thou Art More Lovely"]),
    5: ("fail", ["on purpose"]),
    6: ("nosuch", []),
    7: ("add", [1, "2"]),
}


class RPCClient(Int32StringReceiver):
    def connectionMade(self):
        self.answers = {}
        self.done = defer.Deferred()
        for id_, (funcname, arguments) in CALLS.items():
            self.sendString(
                bson.encode(
                    {"call": {"funcname": funcname, "arguments": arguments}, "id": id_}
                )
            )
        self.sendString(bson.encode({"info": {}}))

    def stringReceived(self, data):
        msg = bson.decode(data)
        if "info" in msg:
            self.answers["info"] = msg["info"]
        else:
            self.answers[str(msg["id"])] = {k: v for k, v in msg.items() if k != "id"}
        if len(self.answers) == len(CALLS) + 1:
            self.transport.loseConnection()
            self.done.callback(self.answers)

    def connectionLost(self, reason):
        if not self.done.called:
            self.done.errback(reason)


def main(host, port):
    result = {}

    def connected(proto):
        return proto.done

    def done(answers):
        result["answers"] = answers

    def failed(failure):
        result["error"] = failure.getErrorMessage()

    endpoint = TCP4ClientEndpoint(reactor, host, port, timeout=20)
    d = connectProtocol(endpoint, RPCClient())
    d.addCallback(connected)
    d.addCallbacks(done, failed)
    d.addBoth(lambda _: reactor.stop())
    reactor.run()
    json.dump(result, sys.stdout, default=str)
    sys.exit(1 if "error" in result else 0)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
