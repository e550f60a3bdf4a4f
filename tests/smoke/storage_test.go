package smoke

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestStorage: PUT, GET, HEAD, LIST (with paging), DELETE through both
// route families; bad keys are refused; a PUT declaring more than the
// default 256 MiB cap is refused from its Content-Length before any byte
// of it is read; a fifth concurrent PUT gets 503 with Retry-After: 5 at
// once (never a hang), and the slots come back when the four finish.
func TestStorage(t *testing.T) {
	t.Parallel()
	s := newNode(t, nil).start(t)

	var put struct {
		Key  string `json:"key"`
		Size int64  `json:"size"`
		ETag string `json:"etag"`
	}
	s.Call(t, "PUT", "/v1/storage/put/smoke/a.txt", Raw{"text/plain", []byte("hello")}, 201, &put)
	if put.Key != "smoke/a.txt" || put.Size != 5 || put.ETag == "" {
		t.Fatalf("PUT answer %+v", put)
	}
	if got := s.Call(t, "GET", "/v1/storage/get/smoke/a.txt", nil, 200, nil).Body; string(got) != "hello" {
		t.Fatalf("GET returned %q", got)
	}
	big := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	s.Call(t, "PUT", "/v1/storage/objects/smoke/b.bin", Raw{"application/octet-stream", big}, 201, nil)
	if h := s.Call(t, "HEAD", "/v1/storage/objects/smoke/b.bin", nil, 200, nil); h.Header.Get("Content-Length") != strconv.Itoa(len(big)) {
		t.Fatalf("HEAD Content-Length %q, want %d", h.Header.Get("Content-Length"), len(big))
	}
	if got := s.Call(t, "GET", "/v1/storage/objects/smoke/b.bin", nil, 200, nil).Body; !bytes.Equal(got, big) {
		t.Fatalf("GET of 1 MiB: %d bytes, not the ones written", len(got))
	}

	type listing struct {
		Objects []struct {
			Key  string `json:"key"`
			Size int64  `json:"size"`
		} `json:"objects"`
		Cursor    string `json:"cursor"`
		Truncated bool   `json:"truncated"`
	}
	var all listing
	s.Call(t, "GET", "/v1/storage/list?prefix=smoke/", nil, 200, &all)
	if len(all.Objects) != 2 || all.Objects[0].Key != "smoke/a.txt" || all.Objects[0].Size != 5 ||
		all.Objects[1].Key != "smoke/b.bin" || all.Objects[1].Size != int64(len(big)) || all.Truncated {
		t.Fatalf("list: %+v", all)
	}
	var p1, p2 listing
	s.Call(t, "GET", "/v1/storage/list?prefix=smoke/&limit=1", nil, 200, &p1)
	if len(p1.Objects) != 1 || !p1.Truncated || p1.Cursor == "" {
		t.Fatalf("first page: %+v", p1)
	}
	s.Call(t, "GET", "/v1/storage/list?prefix=smoke/&limit=1&cursor="+p1.Cursor, nil, 200, &p2)
	if len(p2.Objects) != 1 || p2.Objects[0].Key != "smoke/b.bin" || p2.Truncated {
		t.Fatalf("second page: %+v", p2)
	}

	s.Call(t, "DELETE", "/v1/storage/delete/smoke/a.txt", nil, 200, nil)
	s.Fail(t, "GET", "/v1/storage/get/smoke/a.txt", nil, 404, "")
	s.Call(t, "DELETE", "/v1/storage/objects/smoke/b.bin", nil, 200, nil)
	s.Call(t, "HEAD", "/v1/storage/objects/smoke/b.bin", nil, 404, nil)
	var empty listing
	if s.Call(t, "GET", "/v1/storage/list?prefix=smoke/", nil, 200, &empty); len(empty.Objects) != 0 {
		t.Fatalf("after deletes: %+v", empty)
	}

	for _, key := range []string{"a/%2e%2e/b", "a//b", "a%0Ab"} {
		s.Fail(t, "PUT", "/v1/storage/put/"+key, Raw{"text/plain", []byte("x")}, 400, "")
	}
	s.Fail(t, "PUT", "/v1/storage/put/_catalog/x", Raw{"text/plain", []byte("x")}, 403, "reserved")

	t.Run("256MiBCap", func(t *testing.T) {
		// One byte over the cap, announced but never sent: the answer must
		// come from the header alone.
		resp := rawPut(t, s, "smoke/huge.bin", 256<<20+1, nil)
		if resp.StatusCode != 413 {
			t.Fatalf("PUT of 256 MiB + 1: %d, want 413", resp.StatusCode)
		}
		s.Fail(t, "GET", "/v1/storage/get/smoke/huge.bin", nil, 404, "")
	})

	t.Run("ConcurrencyCap", func(t *testing.T) {
		// Four uploads hold the four PUT slots: each sends half its body
		// and waits.
		const slots = 4
		held := make([]*heldPut, slots)
		for i := range held {
			held[i] = startHeldPut(t, s, fmt.Sprintf("smoke/held-%d", i), []byte("abcd"), []byte("efgh"))
		}
		// The fifth is refused at once. A held upload may still be on its
		// way to a slot when a probe arrives, and then the probe takes it
		// (201) and the late upload is the one refused: such an upload is
		// sent again until the four hold their slots and a probe is refused.
		var refused *Response
		deadline := time.Now().Add(10 * time.Second)
		for i := 0; refused == nil; i++ {
			time.Sleep(50 * time.Millisecond)
			start := time.Now()
			r, err := s.Do("PUT", fmt.Sprintf("/v1/storage/put/smoke/fifth-%d", i), Raw{"text/plain", []byte("x")})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case r.Status == 503:
				if time.Since(start) > 5*time.Second {
					t.Fatalf("the refusal took %s: it must not queue", time.Since(start))
				}
				refused = r
			case r.Status == 201 && time.Now().Before(deadline):
				for j, h := range held {
					if st, answered := h.answered(t); answered {
						if st != 503 {
							t.Fatalf("held PUT %d answered %d before its body was sent", j, st)
						}
						held[j] = startHeldPut(t, s, fmt.Sprintf("smoke/held-%d", j), []byte("abcd"), []byte("efgh"))
					}
				}
			default:
				t.Fatalf("fifth PUT: %d %s", r.Status, clip(r.Body))
			}
		}
		if refused.Header.Get("Retry-After") != "5" {
			t.Fatalf("503 without Retry-After: 5: %v", refused.Header)
		}
		for i, h := range held {
			if st := h.finish(t); st != 201 {
				t.Fatalf("held PUT %d: %d", i, st)
			}
			if got := s.Call(t, "GET", fmt.Sprintf("/v1/storage/get/smoke/held-%d", i), nil, 200, nil).Body; string(got) != "abcdefgh" {
				t.Fatalf("held PUT %d stored %q", i, got)
			}
		}
		// Every slot came back.
		for i := 0; i < slots+1; i++ {
			s.Call(t, "PUT", fmt.Sprintf("/v1/storage/put/smoke/after-%d", i), Raw{"text/plain", []byte("x")}, 201, nil)
		}
	})
}

// rawPut writes a PUT's head declaring length bytes, then body (which may
// be shorter: the server is expected to answer from the head), and reads
// the answer.
func rawPut(t *testing.T, s *server, key string, length int64, body []byte) *http.Response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.URL[len("http://"):], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "PUT /v1/storage/put/%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n",
		key, s.URL[len("http://"):], token, length)
	_, _ = conn.Write(body)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("PUT %s: %v", key, err)
	}
	resp.Body.Close()
	return resp
}

// heldPut is an upload stopped halfway through its body.
type heldPut struct {
	conn net.Conn
	br   *bufio.Reader
	rest []byte
}

func startHeldPut(t *testing.T, s *server, key string, first, rest []byte) *heldPut {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.URL[len("http://"):], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "PUT /v1/storage/put/%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
		key, s.URL[len("http://"):], token, len(first)+len(rest), first)
	return &heldPut{conn: conn, br: bufio.NewReader(conn), rest: rest}
}

// answered reports whether the server has already answered the upload
// (which it does only when it refused it), and with which status.
func (h *heldPut) answered(t *testing.T) (int, bool) {
	t.Helper()
	_ = h.conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := h.br.Peek(1)
	_ = h.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if err != nil {
		return 0, false
	}
	resp, err := http.ReadResponse(h.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, true
}

// finish sends the rest of the body and returns the answer's status.
func (h *heldPut) finish(t *testing.T) int {
	t.Helper()
	if _, err := h.conn.Write(h.rest); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(h.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
