package basic

// BufferCap returns the capacity of r's input buffer, for the external tests.
func BufferCap[P uint8 | uint16 | uint32](r *IntStringReceiver[P]) int { return cap(r.in.buf) }
