package main

import "github.com/twistgo/twist/twistd"

func main() { twistd.Main() }
