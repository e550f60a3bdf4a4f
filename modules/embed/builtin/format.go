package builtin

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// The converted model file (written by Convert, read by load) is a small
// little-endian container, so the binary embeds 14 MB of float16 instead of
// 28 MB of float32 plus JSON:
//
//	magic   [8]byte "LHUSE01\n"
//	pieces  u32, then per piece: u16 byte length, UTF-8 bytes, f64 score
//	tensors u32, then per tensor: u8 name length, name, u8 dtype (0 f32,
//	        1 f16), u8 rank, u32 dims..., data
var fileMagic = [8]byte{'L', 'H', 'U', 'S', 'E', '0', '1', '\n'}

const (
	dtypeF32 = 0
	dtypeF16 = 1
)

// piece is one SentencePiece vocabulary entry.
type piece struct {
	text  string
	score float64
}

// tensor is one named weight, always float32 in memory.
type tensor struct {
	name  string
	shape []int
	data  []float32
}

// modelFile is the decoded container.
type modelFile struct {
	pieces  []piece
	tensors map[string]tensor
}

func writeModelFile(w io.Writer, pieces []piece, tensors []tensor, f16 func(name string) bool) error {
	bw := bufio.NewWriter(w)
	le := binary.LittleEndian
	put := func(v any) {
		_ = binary.Write(bw, le, v) // bufio errors surface at Flush
	}
	put(fileMagic)
	put(uint32(len(pieces)))
	for _, p := range pieces {
		if len(p.text) > math.MaxUint16 {
			return fmt.Errorf("piece of %d bytes too long", len(p.text))
		}
		put(uint16(len(p.text)))
		bw.WriteString(p.text)
		put(p.score)
	}
	put(uint32(len(tensors)))
	for _, t := range tensors {
		if len(t.name) > 255 || len(t.shape) > 255 {
			return fmt.Errorf("tensor %q: name or rank too long", t.name)
		}
		put(uint8(len(t.name)))
		bw.WriteString(t.name)
		half := f16(t.name)
		if half {
			put(uint8(dtypeF16))
		} else {
			put(uint8(dtypeF32))
		}
		put(uint8(len(t.shape)))
		for _, d := range t.shape {
			put(uint32(d))
		}
		if half {
			buf := make([]byte, 2*len(t.data))
			for i, v := range t.data {
				le.PutUint16(buf[2*i:], float32ToHalf(v))
			}
			bw.Write(buf)
		} else {
			buf := make([]byte, 4*len(t.data))
			for i, v := range t.data {
				le.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			bw.Write(buf)
		}
	}
	return bw.Flush()
}

// readModelFile decodes the container from memory (the embedded bytes).
func readModelFile(b []byte) (*modelFile, error) {
	r := &byteReader{b: b}
	var magic [8]byte
	copy(magic[:], r.next(8))
	if r.err != nil || magic != fileMagic {
		return nil, errors.New("not a lakehouse USE model file (bad magic)")
	}
	mf := &modelFile{tensors: map[string]tensor{}}
	n := int(r.u32())
	if r.err == nil && n > 1<<20 {
		return nil, fmt.Errorf("implausible vocabulary size %d", n)
	}
	mf.pieces = make([]piece, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		l := int(r.u16())
		s := string(r.next(l))
		mf.pieces = append(mf.pieces, piece{text: s, score: math.Float64frombits(r.u64())})
	}
	nt := int(r.u32())
	for i := 0; i < nt && r.err == nil; i++ {
		name := string(r.next(int(r.u8())))
		dt := r.u8()
		rank := int(r.u8())
		shape := make([]int, rank)
		size := 1
		for j := range shape {
			shape[j] = int(r.u32())
			size *= shape[j]
		}
		if size > 1<<26 {
			return nil, fmt.Errorf("tensor %q: implausible size %d", name, size)
		}
		data := make([]float32, size)
		switch dt {
		case dtypeF16:
			raw := r.next(2 * size)
			for j := range data {
				if r.err != nil {
					break
				}
				data[j] = halfToFloat32(binary.LittleEndian.Uint16(raw[2*j:]))
			}
		case dtypeF32:
			raw := r.next(4 * size)
			for j := range data {
				if r.err != nil {
					break
				}
				data[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
			}
		default:
			return nil, fmt.Errorf("tensor %q: unknown dtype %d", name, dt)
		}
		mf.tensors[name] = tensor{name: name, shape: shape, data: data}
	}
	if r.err != nil {
		return nil, fmt.Errorf("model file truncated: %w", r.err)
	}
	return mf, nil
}

// byteReader reads the container without copying; the first short read
// sticks in err and every later read returns zeros.
type byteReader struct {
	b   []byte
	off int
	err error
}

func (r *byteReader) next(n int) []byte {
	if r.err != nil || n < 0 || r.off+n > len(r.b) {
		if r.err == nil {
			r.err = io.ErrUnexpectedEOF
		}
		return make([]byte, max(n, 0))
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *byteReader) u8() uint8   { return r.next(1)[0] }
func (r *byteReader) u16() uint16 { return binary.LittleEndian.Uint16(r.next(2)) }
func (r *byteReader) u32() uint32 { return binary.LittleEndian.Uint32(r.next(4)) }
func (r *byteReader) u64() uint64 { return binary.LittleEndian.Uint64(r.next(8)) }

// float32ToHalf rounds to the nearest IEEE 754 binary16 (ties to even).
func float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int((b>>23)&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case (b>>23)&0xff == 0xff: // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp >= 0x1f: // overflow
		return sign | 0x7c00
	case exp <= 0: // subnormal or zero
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - exp)
		half := mant >> shift
		rem := mant & (1<<shift - 1)
		mid := uint32(1) << (shift - 1)
		if rem > mid || (rem == mid && half&1 == 1) {
			half++
		}
		return sign | uint16(half)
	}
	half := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && half&1 == 1) {
		half++ // may carry into the exponent, which is still correct
	}
	return sign | uint16(half)
}

// halfToFloat32 widens an IEEE 754 binary16 exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// subnormal: normalise
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | e<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
