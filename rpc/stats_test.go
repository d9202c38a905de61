package rpc

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestStatsCountCallsPerFunction(t *testing.T) {
	s := testServer(t)
	_, args, _ := bson.MarshalValue(bson.A{1, 2})
	s.Dispatch(context.Background(), nil, "add", args)
	s.Dispatch(context.Background(), nil, "add", nil) // a failed call counts too
	s.Dispatch(context.Background(), nil, "nosuch", args)
	if _, _, err := s.AppendCall(nil, context.Background(), nil, "reply", "add", args); err != nil {
		t.Fatal(err)
	}
	stats := s.Stats()
	if len(stats) == 0 {
		t.Fatal("no stats")
	}
	for i, st := range stats {
		if i > 0 && stats[i-1].Name >= st.Name {
			t.Errorf("not sorted: %q before %q", stats[i-1].Name, st.Name)
		}
		want := uint64(0)
		if st.Name == "add" {
			want = 3
		}
		if st.Calls != want {
			t.Errorf("%s: %d calls, want %d", st.Name, st.Calls, want)
		}
	}
}
