package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"sync"

	"lakehouse/modules/catalog"
)

// A part's key filter is a Bloom filter over its whole keys, so an upsert
// or delete of keys in no order (emails, UUIDs), which min/max cannot
// prune, still reads only the parts that may hold one of them.
//
// It is register-blocked: the k bits of a key all fall in one 64-bit word,
// so DuckDB builds it with one aggregate (the word's index and the key's
// mask, OR-ed per word: m/64 rows cross into Go, not one per key) and a
// probe touches one word. At 16 bits a key and 8 bits set, about 0.2% of
// absent keys pass (a plain Bloom filter: 0.05%), which costs a read of
// one part now and then, never a wrong answer.
//
// Hashing is MD5 (md5_number_lower/upper) of the key as text, each column
// cast to the dataset's type first: defined by the algorithm, not by a
// DuckDB version, so a filter stays valid across upgrades. The word is
// h1 mod (m/64); the bits are the eight 6-bit fields of h2.
const (
	keyFilterBitsPerKey = 16
	keyFilterHashes     = 8 // bits set per key, from 6-bit fields of h2
	keyFilterMinBits    = 1024
	keyFilterMagic      = "LHKF1"
)

// bloom is one key filter's bits.
type bloom struct {
	m     uint64
	k     int
	words []uint64
}

// keyHash is one incoming key's two hashes.
type keyHash struct{ h1, h2 uint64 }

// filterBits is m for a part of rows keys: a power of two of at least
// keyFilterBitsPerKey per key.
func filterBits(rows int64) int64 {
	m := int64(keyFilterMinBits)
	for m < rows*keyFilterBitsPerKey {
		m <<= 1
	}
	return m
}

// keyMask is the bits a key sets in its word.
func keyMask(h2 uint64, k int) uint64 {
	var mask uint64
	for i := 0; i < k; i++ {
		mask |= 1 << ((h2 >> (6 * i)) & 63)
	}
	return mask
}

// mayHold says whether the filter may hold the key.
func (b *bloom) mayHold(h keyHash) bool {
	mask := keyMask(h.h2, b.k)
	return b.words[h.h1%uint64(len(b.words))]&mask == mask
}

// mayHoldAny says whether the filter may hold any of keys.
func (b *bloom) mayHoldAny(keys []keyHash) bool {
	for _, h := range keys {
		if b.mayHold(h) {
			return true
		}
	}
	return false
}

// encode is the filter's stored form: magic, m, k, the words, and a
// CRC-32 of all before it (a damaged filter reads as absent, never as
// "no key here").
func (b *bloom) encode() []byte {
	var buf bytes.Buffer
	buf.WriteString(keyFilterMagic)
	_ = binary.Write(&buf, binary.LittleEndian, b.m)
	_ = binary.Write(&buf, binary.LittleEndian, uint32(b.k))
	_ = binary.Write(&buf, binary.LittleEndian, b.words)
	_ = binary.Write(&buf, binary.LittleEndian, crc32.ChecksumIEEE(buf.Bytes()))
	return buf.Bytes()
}

// decodeBloom reads a stored filter, checking it against the manifest's
// description of it.
func decodeBloom(data []byte, want *catalog.KeyFilter) (*bloom, error) {
	head := len(keyFilterMagic) + 8 + 4
	if len(data) < head+4 || string(data[:len(keyFilterMagic)]) != keyFilterMagic {
		return nil, errors.New("not a key filter")
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, errors.New("key filter checksum mismatch")
	}
	m := binary.LittleEndian.Uint64(data[len(keyFilterMagic):])
	k := int(binary.LittleEndian.Uint32(data[len(keyFilterMagic)+8:]))
	if int64(m) != want.Bits || k != want.Hashes || m%64 != 0 || uint64(len(body)-head) != m/8 {
		return nil, fmt.Errorf("key filter is %d bits × %d hashes, the manifest says %d × %d", m, k, want.Bits, want.Hashes)
	}
	words := make([]uint64, m/64)
	if err := binary.Read(bytes.NewReader(body[head:]), binary.LittleEndian, words); err != nil {
		return nil, fmt.Errorf("key filter: %w", err)
	}
	return &bloom{m: m, k: k, words: words}, nil
}

// usableFilter is f when it was built over key with keyTypes, else nil (a
// filter of another key or of narrower types would miss keys).
func usableFilter(f *catalog.KeyFilter, key, keyTypes []string) *catalog.KeyFilter {
	if f == nil || !slices.Equal(f.Columns, key) || !slices.Equal(f.Types, keyTypes) || f.Bits <= 0 || f.Hashes <= 0 {
		return nil
	}
	return f
}

// keyText is the SQL text of a row's whole key: each column cast to the
// dataset's type, then to text, joined by a unit separator (a collision
// between two tuples only adds a false positive).
func keyText(key, keyTypes []string, alias string) string {
	parts := make([]string, len(key))
	for i, k := range key {
		parts[i] = fmt.Sprintf("CAST(CAST(%s.%s AS %s) AS VARCHAR)", alias, identQuote(k), keyTypes[i])
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "concat_ws(chr(31), " + strings.Join(parts, ", ") + ")"
}

// keyHashes reads the hashes of every incoming key (table inc).
func (s *keySession) keyHashes(ctx context.Context, key, keyTypes []string) ([]keyHash, error) {
	t := keyText(key, keyTypes, "i")
	rs, err := s.conn.QueryContext(ctx, fmt.Sprintf("SELECT md5_number_lower(%[1]s), md5_number_upper(%[1]s) FROM inc i", t))
	if err != nil {
		return nil, fmt.Errorf("ingest: key hashes: %w", err)
	}
	defer rs.Close()
	var out []keyHash
	for rs.Next() {
		var h keyHash
		if err := rs.Scan(&h.h1, &h.h2); err != nil {
			return nil, fmt.Errorf("ingest: key hashes: %w", err)
		}
		out = append(out, h)
	}
	return out, rs.Err()
}

// buildFilters builds the key filter of each local part at paths, which
// hold rows[i] rows, in one statement.
func (s *keySession) buildFilters(ctx context.Context, paths []string, rows []int64, key, keyTypes []string) ([]*bloom, error) {
	out := make([]*bloom, len(paths))
	if len(paths) == 0 {
		return out, nil
	}
	list := make([]string, len(paths))
	ms := make([]string, len(paths))
	for i, p := range paths {
		m := filterBits(rows[i])
		out[i] = &bloom{m: uint64(m), k: keyFilterHashes, words: make([]uint64, m/64)}
		list[i] = sqlQuote(p)
		ms[i] = fmt.Sprintf("(%d, %d)", i+1, m)
	}
	t := keyText(key, keyTypes, "p")
	bits := make([]string, keyFilterHashes)
	for i := range bits {
		bits[i] = fmt.Sprintf("(CAST(1 AS UBIGINT) << CAST((h2 >> %d) & 63 AS INTEGER))", 6*i)
	}
	q := fmt.Sprintf(`SELECT f, h1 %% (m // 64) AS w, bit_or(%[4]s)
		FROM (SELECT ms.f, ms.m, md5_number_lower(k.t) AS h1, md5_number_upper(k.t) AS h2
			FROM (SELECT list_position([%[1]s], p.filename) AS f, %[2]s AS t FROM read_parquet([%[1]s], filename = true) p) k
			JOIN (VALUES %[3]s) ms(f, m) ON ms.f = k.f)
		GROUP BY f, w`, strings.Join(list, ", "), t, strings.Join(ms, ", "), strings.Join(bits, " | "))
	rs, err := s.conn.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("ingest: build key filters: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var f, w int64
		var bits uint64
		if err := rs.Scan(&f, &w, &bits); err != nil {
			return nil, fmt.Errorf("ingest: build key filters: %w", err)
		}
		if f < 1 || int(f) > len(out) || w < 0 || int(w) >= len(out[f-1].words) {
			return nil, errors.New("ingest: build key filters: a position outside the filter (DuckDB named a file differently)")
		}
		out[f-1].words[w] = bits
	}
	return out, rs.Err()
}

// filterMeta is the manifest's description of a filter built over key.
func filterMeta(b *bloom, key, keyTypes []string) *catalog.KeyFilter {
	return &catalog.KeyFilter{Columns: slices.Clone(key), Types: slices.Clone(keyTypes), Bits: int64(b.m), Hashes: b.k}
}

// storeFilters writes the filters of parts (by part key) beside them.
// They go before the version that names them is committed, as parts do.
func (in *Ingester) storeFilters(ctx context.Context, filters map[string]*bloom) error {
	for partKey, b := range filters {
		data := b.encode()
		if _, err := in.store.Put(ctx, catalog.KeyFilterObject(partKey), bytes.NewReader(data), int64(len(data))); err != nil {
			return fmt.Errorf("ingest: store key filter of %s: %w", partKey, err)
		}
		in.filters.put(partKey, b)
	}
	return nil
}

// loadFilter reads the filter of the part at partKey (from the cache, else
// the store); nil when it is missing or damaged, and the part is read.
func (in *Ingester) loadFilter(ctx context.Context, partKey string, meta *catalog.KeyFilter) *bloom {
	if b := in.filters.get(partKey); b != nil && int64(b.m) == meta.Bits && b.k == meta.Hashes {
		return b
	}
	rc, _, err := in.store.Get(ctx, catalog.KeyFilterObject(partKey))
	if err != nil {
		in.log.Debug("ingest: key filter unreadable; the part is read", "part", partKey, "err", err)
		return nil
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, meta.Bits/8+64))
	if err != nil {
		in.log.Debug("ingest: key filter unreadable; the part is read", "part", partKey, "err", err)
		return nil
	}
	b, err := decodeBloom(data, meta)
	if err != nil {
		in.log.Warn("ingest: key filter damaged; the part is read", "part", partKey, "err", err)
		return nil
	}
	in.filters.put(partKey, b)
	return b
}

// filterCache keeps decoded filters by part key (parts, and so their
// filters, never change), up to a byte budget.
type filterCache struct {
	mu    sync.Mutex
	byKey map[string]*bloom
	bytes int64
}

// filterCacheBytes bounds the cache: past it, it starts over.
const filterCacheBytes = 64 << 20

func (c *filterCache) get(key string) *bloom {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byKey[key]
}

func (c *filterCache) put(key string, b *bloom) {
	c.mu.Lock()
	defer c.mu.Unlock()
	size := int64(b.m / 8)
	if c.byKey == nil || c.bytes+size > filterCacheBytes {
		c.byKey, c.bytes = map[string]*bloom{}, 0
	}
	if _, ok := c.byKey[key]; !ok {
		c.byKey[key] = b
		c.bytes += size
	}
}
