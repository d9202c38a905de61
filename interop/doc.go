// Package interop drives Twist's RPC server with clients that Twist did not
// write: the Node.js mongodb driver (6.x and 7.x), mongosh, the twist-rpc
// Node.js client, pymongo, and a Python Twisted client of the framed
// protocol; and Twist's web server with undici (the npm package, and the
// copy inside Node's fetch).
//
// The package is its tests (run with make interop). Each test starts the
// server in-process on a loop of its own — the framed protocol and the
// MongoDB wire protocol on ephemeral loopback ports, serving the functions
// of rpc/rpcdemo — runs the foreign client as a subprocess with a
// time-out, and checks what the client printed. A suite whose client is
// not installed (node and npm; Debian's python3-pymongo and python3-twisted
// under /usr/bin/python3) is skipped, saying why. The npm packages are
// installed into node/node_modules on first use, and again when
// node/package-lock.json or clients/node (copied in as twist-rpc) changes.
package interop
