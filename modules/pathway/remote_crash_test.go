package pathway

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"lakehouse/config"
	"lakehouse/modules/storage"
	"lakehouse/modules/storage/storagetest"
)

// bucketChildArg configures the "bucket" crash child.
type bucketChildArg struct {
	DataDir string          `json:"data_dir"`
	S3      config.S3Config `json:"s3"`
}

func init() {
	// The crash child over a bucket: small compact_bytes, so compactions
	// run (and may be cut by the kill) among the writes.
	CrashChildren["bucket"] = func(arg string) int {
		var a bucketChildArg
		if err := json.Unmarshal([]byte(arg), &a); err != nil {
			fmt.Fprintln(os.Stderr, "child arg:", err)
			os.Exit(2)
		}
		st, err := storage.OpenS3(ctx, a.S3)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child s3:", err)
			os.Exit(2)
		}
		s, err := Open(a.DataDir+"/pathway/traces.jsonl", Options{Logger: quietLog, Remote: st, CompactBytes: 16 << 10})
		if err != nil {
			fmt.Fprintln(os.Stderr, "child open:", err)
			os.Exit(2)
		}
		crashWrites(s)
		return 0
	}
}

// TestBucket_Kill9_EmptyDirRestart: SIGKILL a process writing
// concurrently over MinIO (compacting as it goes); a node on an EMPTY
// data dir holds every write it acknowledged. The second round restarts
// the writer on the first one's data dir (its local copy torn by the
// kill) and a new empty dir checks again.
func TestBucket_Kill9_EmptyDirRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	s3 := storagetest.StartMinIO(t)
	writerDir := t.TempDir()
	arg, _ := json.Marshal(bucketChildArg{DataDir: writerDir, S3: s3})
	var all []ack
	for round := 0; round < 2; round++ {
		acks := runCrashChild(t, round, "bucket", string(arg))
		all = append(all, acks...)
		s := openBucketAt(t, t.TempDir(), openS3(t, s3), Options{})
		verifyAcksIn(t, s, acks, round+1)
		if rs := s.ReplayStats(); rs.Corrupted != 0 || rs.ApplyErrors != 0 {
			t.Fatalf("the bucket holds torn or conflicting records: %+v", rs)
		}
		var snaps int
		for _, k := range bucketKeys(t, openS3(t, s3)) {
			if strings.HasPrefix(k, remoteSnapPrefix) {
				snaps++
			}
		}
		t.Logf("round %d: %d acks, bucket has %d snapshot(s) and %d segments after it", round, len(acks), snaps, s.p.ship.live.Load())
		s.Close()
	}
}
