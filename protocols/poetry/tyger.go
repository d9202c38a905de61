package poetry

import _ "embed"

// Tyger is the text of William Blake's "The Tyger", from Songs of Experience
// (1794), with its title and author on the first lines: the poetry examples
// serve it from one server and Sonnet18 from another, so that their output
// tells the poems apart.
//
//go:embed tyger.txt
var Tyger []byte
