package embed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Re-indexing after a restart, or into a new index, asks the model only
// for texts it never embedded: 1,000 texts embedded, the node restarted
// (a new memory cache over the same disk cache), the same texts with 1%
// changed cost 10 model calls; a torn tail is cut at open and its text
// embedded again; the cache stays within its bound.
func TestDiskCacheEmbedsOnlyNewTextsAfterARestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	texts := make([]string, 1000)
	for i := range texts {
		texts[i] = fmt.Sprintf("candidate %d: forklift driver, OSHA-30, Houston", i)
	}
	disk, err := OpenDiskCache(dir, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	first := &countingEmbedder{model: "m1"}
	want, err := NewCached(first, NewLRU(10)).WithDisk(disk).EmbedBatch(ctx, texts)
	if err != nil || first.seen.Load() != 1000 {
		t.Fatalf("first run: %d model calls, %v", first.seen.Load(), err)
	}
	disk.Close()

	disk, err = OpenDiskCache(dir, 64<<20) // the restart
	if err != nil {
		t.Fatal(err)
	}
	changed := append([]string(nil), texts...)
	for i := 0; i < len(changed); i += 100 {
		changed[i] += " (updated)"
	}
	again := &countingEmbedder{model: "m1"}
	got, err := NewCached(again, NewLRU(10)).WithDisk(disk).EmbedBatch(ctx, changed)
	if err != nil || again.seen.Load() != 10 {
		t.Fatalf("re-index after a restart with 1%% changed: %d model calls, want 10 (%v)", again.seen.Load(), err)
	}
	if got[1][0] != want[1][0] || got[1][1] != want[1][1] {
		t.Fatalf("a vector from disk differs: %v, want %v", got[1], want[1])
	}
	// Another model's vectors are not this one's.
	other := &countingEmbedder{model: "m2"}
	if _, err := NewCached(other, NewLRU(10)).WithDisk(disk).EmbedBatch(ctx, texts[:5]); err != nil || other.seen.Load() != 5 {
		t.Fatalf("another model: %d calls, %v", other.seen.Load(), err)
	}
	disk.Close()

	// A torn last record (a crash mid-append) is cut; its text is embedded again.
	files, _ := filepath.Glob(filepath.Join(dir, "*.vec"))
	if len(files) != 1 {
		t.Fatalf("generations: %v", files)
	}
	st, _ := os.Stat(files[0])
	if err := os.Truncate(files[0], st.Size()-3); err != nil {
		t.Fatal(err)
	}
	disk, err = OpenDiskCache(dir, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer disk.Close()
	torn := &countingEmbedder{model: "m2"}
	c := NewCached(torn, NewLRU(10)).WithDisk(disk)
	if _, err := c.EmbedBatch(ctx, texts[:5]); err != nil || torn.seen.Load() != 1 {
		t.Fatalf("after a torn tail: %d model calls, want 1 (%v)", torn.seen.Load(), err)
	}
	// Erasure purges the cache, memory and disk: everything is embedded again.
	if err := c.PurgeCache(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EmbedBatch(ctx, texts[:5]); err != nil || torn.seen.Load() != 6 {
		t.Fatalf("after a purge: %d model calls in all, want 6 (%v)", torn.seen.Load(), err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.vec")); len(files) != 1 {
		t.Fatalf("generations after a purge: %v", files)
	}
}

// The cache holds at most its limit: two generations of half of it, the
// older dropped when the newer fills.
func TestDiskCacheStaysWithinItsBound(t *testing.T) {
	dir := t.TempDir()
	disk, err := OpenDiskCache(dir, 2<<20) // generations of 1 MiB
	if err != nil {
		t.Fatal(err)
	}
	defer disk.Close()
	vec := make([]float32, 512) // ~2 KiB a record
	for i := range 3000 {
		if err := disk.put(cacheKey{model: "m", sum: [32]byte{byte(i), byte(i >> 8)}}, vec); err != nil {
			t.Fatal(err)
		}
	}
	var total int64
	files, _ := filepath.Glob(filepath.Join(dir, "*.vec"))
	for _, f := range files {
		st, _ := os.Stat(f)
		total += st.Size()
	}
	if len(files) > 2 || total > 2<<20+4096 {
		t.Fatalf("%d files, %d bytes, want at most 2 and about 2 MiB", len(files), total)
	}
	if _, ok := disk.get(cacheKey{model: "m", sum: [32]byte{byte(2999 & 0xff), byte(2999 >> 8)}}); !ok {
		t.Fatal("the newest vector is gone")
	}
}
