// Package gobgpdiff holds only tests: a differential fuzz target that decodes
// the same bytes with protocols/bgp and with GoBGP's packet package, and
// benchmarks of both. It is a module of its own so that GoBGP stays out of
// the core's go.mod.
package gobgpdiff
