//go:build race

package internet

// raceEnabled tells the tests that the race detector slows them down.
const raceEnabled = true
