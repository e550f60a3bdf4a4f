package vector

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"unsafe"
)

// A WAL segment is one acknowledged batch, written as one object:
//
//	"LHVW" | version u8 | op u8 | seq u64 | count u32 | dim u32 | records | crc32c u32
//
// add record:    idLen u32 | id | metaState u8 (0 keep, 1 set) | metaLen u32 | meta JSON |
//
//	[version 2: textLen u32 | text] | dim × f32
//
// delete record: idLen u32 | id
//
// A batch that carries text is written as version 2; one without as
// version 1, which older builds read too. The CRC covers every byte
// before it, so a torn or half-written segment is recognised on replay
// rather than applied.
const (
	walMagic       = "LHVW"
	walVersion     = 1
	walVersionText = 2
	opAdd          = 1
	opDelete       = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a segment or snapshot that fails its checks.
var errCorrupt = errors.New("corrupt")

// errNewer marks an object in a format version this build does not read: a
// newer lakehouse wrote it. Such an object is left where it is (never
// quarantined), so running the newer build again finds it intact.
var errNewer = errors.New("written in a newer format")

// segment is one decoded WAL batch.
type segment struct {
	op    uint8
	seq   uint64
	items []Item   // opAdd
	ids   []string // opDelete
}

func encodeSegment(seg segment, dim int) ([]byte, error) {
	n := len(seg.items) + len(seg.ids)
	var buf bytes.Buffer
	buf.Grow(32 + len(seg.items)*(dim*4+64))
	version := byte(walVersion)
	for _, it := range seg.items {
		if it.Text != "" {
			version = walVersionText
			break
		}
	}
	buf.WriteString(walMagic)
	buf.WriteByte(version)
	buf.WriteByte(seg.op)
	le := binary.LittleEndian
	var scratch [8]byte
	put32 := func(v uint32) { le.PutUint32(scratch[:4], v); buf.Write(scratch[:4]) }
	le.PutUint64(scratch[:], seg.seq)
	buf.Write(scratch[:])
	put32(uint32(n))
	put32(uint32(dim))
	switch seg.op {
	case opAdd:
		for _, it := range seg.items {
			put32(uint32(len(it.ID)))
			buf.WriteString(it.ID)
			if it.Metadata == nil {
				buf.WriteByte(0)
				put32(0)
			} else {
				md, err := json.Marshal(it.Metadata)
				if err != nil {
					return nil, fmt.Errorf("vector: encode metadata of %q: %w", it.ID, err)
				}
				buf.WriteByte(1)
				put32(uint32(len(md)))
				buf.Write(md)
			}
			if version == walVersionText {
				put32(uint32(len(it.Text)))
				buf.WriteString(it.Text)
			}
			if len(it.Vector) != dim {
				return nil, fmt.Errorf("vector: encode %q: dimension %d, want %d", it.ID, len(it.Vector), dim)
			}
			buf.Write(floatBytes(it.Vector))
		}
	case opDelete:
		for _, id := range seg.ids {
			put32(uint32(len(id)))
			buf.WriteString(id)
		}
	}
	put32(crc32.Checksum(buf.Bytes(), castagnoli))
	return buf.Bytes(), nil
}

func floatBytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*4)
}

// decodeSegment parses and checks a segment written for an index of dim.
func decodeSegment(data []byte, dim int) (segment, error) {
	var seg segment
	if len(data) < 26 || string(data[:4]) != walMagic {
		return seg, fmt.Errorf("%w: segment too short or bad magic", errCorrupt)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return seg, fmt.Errorf("%w: segment checksum mismatch (torn write?)", errCorrupt)
	}
	version := body[4]
	if version != walVersion && version != walVersionText {
		return seg, fmt.Errorf("%w: segment version %d, this build reads %d and %d", errNewer, version, walVersion, walVersionText)
	}
	r := reader{b: body[6:]}
	seg.op = body[5]
	seg.seq = r.u64()
	n := int(r.u32())
	if d := int(r.u32()); d != dim {
		return seg, fmt.Errorf("%w: segment dimension %d, index has %d", errCorrupt, d, dim)
	}
	for i := 0; i < n && r.err == nil; i++ {
		id := string(r.bytes(int(r.u32())))
		switch seg.op {
		case opAdd:
			it := Item{ID: id}
			state := r.u8()
			md := r.bytes(int(r.u32()))
			if state == 1 && r.err == nil {
				if err := json.Unmarshal(md, &it.Metadata); err != nil {
					return seg, fmt.Errorf("%w: metadata of %q: %v", errCorrupt, id, err)
				}
				if it.Metadata == nil {
					it.Metadata = map[string]any{}
				}
			}
			if version == walVersionText {
				it.Text = string(r.bytes(int(r.u32())))
			}
			raw := r.bytes(dim * 4)
			if r.err == nil {
				it.Vector = make([]float32, dim)
				for j := range it.Vector {
					it.Vector[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
				}
			}
			seg.items = append(seg.items, it)
		case opDelete:
			seg.ids = append(seg.ids, id)
		default:
			return seg, fmt.Errorf("%w: unknown segment op %d", errCorrupt, seg.op)
		}
	}
	if r.err != nil {
		return seg, r.err
	}
	if len(r.b) != 0 {
		return seg, fmt.Errorf("%w: %d trailing bytes in segment", errCorrupt, len(r.b))
	}
	return seg, nil
}

// reader decodes little-endian fields, remembering the first overrun.
type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("%w: record runs past the end", errCorrupt)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() uint8 {
	b := r.bytes(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) u32() uint32 {
	b := r.bytes(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *reader) u64() uint64 {
	b := r.bytes(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}
