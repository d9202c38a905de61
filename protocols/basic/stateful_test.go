package basic_test

import (
	"fmt"
	"testing"

	"github.com/twistgo/twist/protocols/basic"
	"github.com/twistgo/twist/twisttest"
)

// login asks for a user and a password, in that order, then is done.
type login struct {
	basic.NetstringReceiver
	basic.StatefulStringProtocol
	user string
}

func newLogin() (*login, *twisttest.StringTransport) {
	l := &login{}
	l.Handler = l
	l.State = l.name
	l.Done = func() { l.Transport.LoseConnection() }
	tr := &twisttest.StringTransport{}
	l.ConnectionMade(tr)
	return l, tr
}

func (l *login) name(s []byte) basic.StringState {
	l.user = string(s)
	return l.password
}

func (l *login) password(s []byte) basic.StringState {
	if string(s) != "secret" {
		l.SendString([]byte("try again"))
		return l.password
	}
	l.SendString([]byte("welcome " + l.user))
	return nil
}

// Each string goes to the state the previous one returned; a nil state
// calls Done, and later strings are dropped.
func TestStatefulStringProtocol(t *testing.T) {
	for name, chunks := range splits([]byte("5:alice,5:guess,6:secret,5:extra,")) {
		l, tr := newLogin()
		deliver(l.DataReceived, chunks)
		if got, want := string(tr.Value()), "9:try again,13:welcome alice,"; got != want {
			t.Errorf("%s: sent %q, want %q", name, got, want)
		}
		if !tr.Disconnecting() || l.State != nil {
			t.Errorf("%s: disconnecting %v, state nil %v", name, tr.Disconnecting(), l.State == nil)
		}
	}
}

func ExampleStatefulStringProtocol() {
	l, tr := newLogin() // a NetstringReceiver with the states name and password
	l.DataReceived([]byte("5:alice,6:secret,"))
	fmt.Printf("%q disconnecting=%v\n", tr.Value(), tr.Disconnecting())
	// Output:
	// "13:welcome alice," disconnecting=true
}
