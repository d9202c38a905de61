package basic

// A StringState handles one string in one state of a StatefulStringProtocol
// and returns the state for the next string; nil ends the conversation. s is
// valid only during the call.
type StringState func(s []byte) StringState

// StatefulStringProtocol is a StringHandler for protocols that are a state
// machine over strings (Twisted's StatefulStringProtocol, whose
// proto_<state> methods are StringStates here, and whose "done" state is
// nil). Embed it beside a string receiver, whose Handler is then the
// protocol, and set State to the first state:
//
//	type Login struct {
//		basic.NetstringReceiver
//		basic.StatefulStringProtocol
//	}
//
//	func NewLogin() *Login {
//		l := &Login{}
//		l.Handler = l // StringReceived comes from StatefulStringProtocol
//		l.State = l.user
//		l.Done = func() { l.Transport.LoseConnection() }
//		return l
//	}
//
// Twisted closes the connection when the state becomes "done"; here Done
// does what the protocol wants then, typically closing the connection.
type StatefulStringProtocol struct {
	// State handles the next string; nil means the conversation is over,
	// and strings are dropped.
	State StringState
	// Done, if not nil, is called once a state returns nil.
	Done func()
}

// StringReceived hands s to the current state and makes the state it
// returns current.
func (p *StatefulStringProtocol) StringReceived(s []byte) {
	if p.State == nil {
		return
	}
	if p.State = p.State(s); p.State == nil && p.Done != nil {
		p.Done()
	}
}
