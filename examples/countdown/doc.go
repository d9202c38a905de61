// Countdown is the countdown program of the Twisted introduction: a reactor
// loop that counts down from 5, one CallLater at a time, then stops.
//
//	go run ./examples/countdown [-from 5] [-interval 1s]
package main
