package embed

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// DiskCache keeps embedded vectors on the node's disk, keyed like the LRU
// (model, purpose, the text's SHA-256), so a restarted node, or a new
// index over texts already embedded, asks the model only for texts it
// never saw. It is a cache, nothing more: bounded (two generations of at
// most half the limit each; when the current one fills, the older one is
// deleted), every record checksummed, a torn or damaged tail cut at open.
// Losing it (a new node over a bucket, a wiped disk) costs re-embedding,
// never an answer.
type DiskCache struct {
	mu       sync.Mutex
	dir      string
	genBytes int64
	cur, old *generation
}

// generation is one append-only file of records:
// key (32) | dim (uint32) | crc32 of key, dim and floats | dim × float32.
type generation struct {
	n     int
	f     *os.File
	size  int64
	index map[[32]byte]int64 // key → record offset
}

const diskRecordHead = 32 + 4 + 4

// maxDiskDim bounds a record's dimension when reading (a damaged length
// must not allocate gigabytes).
const maxDiskDim = 1 << 16

// OpenDiskCache opens (or creates) the cache in dir, holding at most
// limit bytes (two generations of limit/2).
func OpenDiskCache(dir string, limit int64) (*DiskCache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("embed: disk cache: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("embed: disk cache: %w", err)
	}
	var gens []int
	for _, e := range entries {
		if n, err := strconv.Atoi(strings.TrimSuffix(e.Name(), ".vec")); err == nil && strings.HasSuffix(e.Name(), ".vec") {
			gens = append(gens, n)
		}
	}
	sort.Ints(gens)
	for len(gens) > 2 { // an interrupted rotation left a third
		_ = os.Remove(filepath.Join(dir, strconv.Itoa(gens[0])+".vec"))
		gens = gens[1:]
	}
	c := &DiskCache{dir: dir, genBytes: max(limit/2, 1<<20)}
	if len(gens) == 0 {
		gens = []int{1}
	}
	for i, n := range gens {
		g, err := c.openGen(n)
		if err != nil {
			c.Close()
			return nil, err
		}
		if i == len(gens)-1 {
			c.cur = g
		} else {
			c.old = g
		}
	}
	return c, nil
}

// openGen opens generation n, indexing its records and cutting the file
// after the last whole, intact one.
func (c *DiskCache) openGen(n int) (*generation, error) {
	path := filepath.Join(c.dir, strconv.Itoa(n)+".vec")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("embed: disk cache: %w", err)
	}
	g := &generation{n: n, f: f, index: map[[32]byte]int64{}}
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		key, vec, err := readRecord(r)
		if err != nil {
			break // end, or a torn/damaged tail: cut below
		}
		g.index[key] = g.size
		g.size += int64(diskRecordHead + 4*len(vec))
	}
	if err := f.Truncate(g.size); err != nil {
		f.Close()
		return nil, fmt.Errorf("embed: disk cache: %w", err)
	}
	if _, err := f.Seek(g.size, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("embed: disk cache: %w", err)
	}
	return g, nil
}

// diskKey is the record key of an LRU key.
func diskKey(k cacheKey) [32]byte {
	h := sha256.New()
	h.Write([]byte(k.model))
	h.Write([]byte{0, k.purpose})
	h.Write(k.sum[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func readRecord(r io.Reader) ([32]byte, []float32, error) {
	var head [diskRecordHead]byte
	var key [32]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return key, nil, err
	}
	copy(key[:], head[:32])
	dim := binary.LittleEndian.Uint32(head[32:])
	sum := binary.LittleEndian.Uint32(head[36:])
	if dim == 0 || dim > maxDiskDim {
		return key, nil, errors.New("bad dimension")
	}
	body := make([]byte, 4*dim)
	if _, err := io.ReadFull(r, body); err != nil {
		return key, nil, err
	}
	crc := crc32.NewIEEE()
	crc.Write(head[:36])
	crc.Write(body)
	if crc.Sum32() != sum {
		return key, nil, errors.New("checksum mismatch")
	}
	vec := make([]float32, dim)
	for i := range vec {
		vec[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
	}
	return key, vec, nil
}

// get returns the vector stored under k.
func (c *DiskCache) get(k cacheKey) ([]float32, bool) {
	if c == nil {
		return nil, false
	}
	key := diskKey(k)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, g := range []*generation{c.cur, c.old} {
		if g == nil {
			continue
		}
		off, ok := g.index[key]
		if !ok {
			continue
		}
		_, vec, err := readRecord(io.NewSectionReader(g.f, off, g.size-off))
		if err != nil {
			delete(g.index, key) // damaged under us: ask the model again
			continue
		}
		return vec, true
	}
	return nil, false
}

// put stores v under k (once); a full generation rotates first.
func (c *DiskCache) put(k cacheKey, v []float32) error {
	if c == nil || len(v) == 0 || len(v) > maxDiskDim {
		return nil
	}
	key := diskKey(k)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cur.index[key]; ok {
		return nil
	}
	if c.cur.size >= c.genBytes {
		if err := c.rotate(); err != nil {
			return err
		}
	}
	buf := make([]byte, diskRecordHead+4*len(v))
	copy(buf, key[:])
	binary.LittleEndian.PutUint32(buf[32:], uint32(len(v)))
	for i, x := range v {
		binary.LittleEndian.PutUint32(buf[diskRecordHead+4*i:], math.Float32bits(x))
	}
	crc := crc32.NewIEEE()
	crc.Write(buf[:36])
	crc.Write(buf[diskRecordHead:])
	binary.LittleEndian.PutUint32(buf[36:], crc.Sum32())
	if _, err := c.cur.f.Write(buf); err != nil {
		return fmt.Errorf("embed: disk cache: %w", err)
	}
	c.cur.index[key] = c.cur.size
	c.cur.size += int64(len(buf))
	return nil
}

// rotate drops the older generation and starts a new current one.
func (c *DiskCache) rotate() error {
	if c.old != nil {
		c.old.f.Close()
		_ = os.Remove(c.old.f.Name())
	}
	g, err := c.openGen(c.cur.n + 1)
	if err != nil {
		return err
	}
	c.old, c.cur = c.cur, g
	return nil
}

// Close closes the cache's files.
func (c *DiskCache) Close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, g := range []*generation{c.cur, c.old} {
		if g != nil {
			errs = append(errs, g.f.Close())
		}
	}
	return errors.Join(errs...)
}

// CachePurger forgets every cached embedding, in memory and on disk: what
// erasure calls, since a cached vector of a person's text is derived from
// it (an embedding can be partly inverted) and a cache is cheap to lose.
type CachePurger interface{ PurgeCache() error }

var _ CachePurger = (*Cached)(nil)

// PurgeCache implements CachePurger.
func (c *Cached) PurgeCache() error {
	if c.cache != nil {
		c.cache.mu.Lock()
		c.cache.ll.Init()
		clear(c.cache.items)
		c.cache.mu.Unlock()
	}
	return c.disk.purge()
}

// purge deletes every generation and starts an empty one.
func (c *DiskCache) purge() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	next := c.cur.n + 1
	for _, g := range []*generation{c.cur, c.old} {
		if g != nil {
			g.f.Close()
			if err := os.Remove(g.f.Name()); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("embed: purge disk cache: %w", err)
			}
		}
	}
	g, err := c.openGen(next)
	if err != nil {
		return err
	}
	c.cur, c.old = g, nil
	return nil
}
