// Package rpcdemo holds the demonstration functions that the interop tests
// call with clients we did not write, and that twistd's rpc plugin serves:
// small, deterministic functions that cover a plain result, any BSON value,
// a result that comes later (a Deferred fired by a timer), a long string,
// and errors.
package rpcdemo
