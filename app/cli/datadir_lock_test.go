package cli

import (
	"errors"
	"strings"
	"testing"
)

func TestDataDirLockNamesTheOwnerAndIsReleased(t *testing.T) {
	dir := t.TempDir()
	l, err := lockDataDir(dir, "serve")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.announce(dataDirOwner{PID: 42, Mode: "serve", URL: "http://127.0.0.1:3999"}); err != nil {
		t.Fatal(err)
	}
	_, err = lockDataDir(dir, "mcp")
	if !errors.Is(err, errDataDirLocked) || !strings.Contains(err.Error(), "http://127.0.0.1:3999") {
		t.Fatalf("second lock: %v, want errDataDirLocked naming the server", err)
	}
	if o, err := readDataDirOwner(dir); err != nil || o.URL != "http://127.0.0.1:3999" {
		t.Fatalf("owner: %+v %v", o, err)
	}
	l.release()
	l2, err := lockDataDir(dir, "mcp")
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l2.release()
}
