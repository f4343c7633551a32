package transport

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley/proto/wirepb"
)

// fakeServer answers Hello, then writes script's frames as each request
// arrives, in order: a stand-in for a server, to test the client's side.
func fakeServer(t testing.TB, after func(ctx context.Context, ws *websocket.Conn, req *wirepb.ClientFrame)) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		ctx := r.Context()
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				return
			}
			var f wirepb.ClientFrame
			if proto.Unmarshal(data, &f) != nil {
				return
			}
			if f.GetHello() != nil {
				b, _ := proto.Marshal(&wirepb.ServerFrame{Body: &wirepb.ServerFrame_Response{Response: &wirepb.Response{
					Id: f.Id, Result: &wirepb.Response_Hello{Hello: &wirepb.HelloResult{Version: 1, Challenge: make([]byte, 32)}}}}})
				_ = ws.Write(ctx, websocket.MessageBinary, b)
				continue
			}
			after(ctx, ws, &f)
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func TestCallMatchesResponses(t *testing.T) {
	// The fake answers each request twice over: an unrelated push first,
	// then the response, so the client must route by id.
	url := fakeServer(t, func(ctx context.Context, ws *websocket.Conn, req *wirepb.ClientFrame) {
		push, _ := proto.Marshal(&wirepb.ServerFrame{Body: &wirepb.ServerFrame_QueueEmpty{QueueEmpty: &wirepb.QueueEmpty{}}})
		_ = ws.Write(ctx, websocket.MessageBinary, push)
		res := &wirepb.Response{Id: req.Id, Result: &wirepb.Response_Pong{Pong: &wirepb.Pong{ServerTimeMs: int64(req.Id)}}}
		if req.Id%2 == 0 {
			res = &wirepb.Response{Id: req.Id, Error: &wirepb.Error{Code: wirepb.ErrorCode_ERROR_CODE_RATE_LIMITED, Message: "slow down"}}
		}
		b, _ := proto.Marshal(&wirepb.ServerFrame{Body: &wirepb.ServerFrame_Response{Response: res}})
		_ = ws.Write(ctx, websocket.MessageBinary, b)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 4 {
		res, err := c.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Ping{Ping: &wirepb.Ping{}}})
		if res.Id%2 == 0 {
			if CodeOf(err) != wirepb.ErrorCode_ERROR_CODE_RATE_LIMITED {
				t.Fatalf("even id: %v", err)
			}
			continue
		}
		if err != nil || res.GetPong().ServerTimeMs != int64(res.Id) {
			t.Fatalf("odd id: %v %v", res, err)
		}
	}
	if f := <-c.Events(); f.GetQueueEmpty() == nil {
		t.Fatalf("push not delivered as an event: %v", f)
	}
}

// FuzzServerFrame feeds the client arbitrary frames from a server. The
// client must never panic or hang: it either takes the frame or ends the
// connection with an error.
func FuzzServerFrame(f *testing.F) {
	for _, fr := range []*wirepb.ServerFrame{
		{Body: &wirepb.ServerFrame_Response{Response: &wirepb.Response{Id: 2}}},
		{Body: &wirepb.ServerFrame_Deliver{Deliver: &wirepb.Deliver{Envelopes: []*wirepb.Envelope{{Id: 1, Content: []byte("x")}}}}},
		{Body: &wirepb.ServerFrame_Response{Response: &wirepb.Response{Id: 0, Error: &wirepb.Error{Code: 99}}}},
	} {
		b, _ := proto.Marshal(fr)
		f.Add(b)
	}
	f.Add([]byte{0x0a, 0xff})
	var payload []byte
	url := fakeServer(f, func(ctx context.Context, ws *websocket.Conn, req *wirepb.ClientFrame) {
		_ = ws.Write(ctx, websocket.MessageBinary, payload)
		b, _ := proto.Marshal(&wirepb.ServerFrame{Body: &wirepb.ServerFrame_Response{Response: &wirepb.Response{Id: req.Id,
			Result: &wirepb.Response_Pong{Pong: &wirepb.Pong{}}}}})
		_ = ws.Write(ctx, websocket.MessageBinary, b)
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		payload = data
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := Dial(ctx, url, &Options{Events: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		go func() {
			for range c.Events() {
			}
		}()
		_, err = c.Call(ctx, &wirepb.ClientFrame{Body: &wirepb.ClientFrame_Ping{Ping: &wirepb.Ping{}}})
		var se *ServerError
		if err != nil && !errors.Is(err, ErrClosed) && !errors.As(err, &se) {
			t.Fatalf("frame %x: %v", data, err)
		}
	})
}
