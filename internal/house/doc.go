// Package house holds no code, only the tests of the repository's own
// rules, which `make test` runs with the others: every relative link in the
// Markdown resolves, and imports flow the one way docs/design.md draws.
package house
