package builtin

import (
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/viterin/vek/vek32"
)

// Dimension is the length of every vector the builtin encoder returns.
const Dimension = 512

// layer is one transformer layer's weights, the matrices packed for the
// kernel (packB), biases and norms as in the graph.
type layer struct {
	ln1s, ln1b    []float32
	qkv           packedB
	qkvB          []float32
	out           packedB
	outB          []float32
	ln2s, ln2b    []float32
	ffn1, ffn2    packedB
	ffn1B, ffn2B  []float32
	res           packedB // only layer 0: projects the 256-d input to 512
	resB          []float32
	in, heads, dk int
	qscale        float32
	width, hidden int
}

// model is the USE-lite forward pass (the graph in model.json):
// embeddings ×2 + sinusoidal timing → 2 pre-norm transformer layers (the
// first widens 256 → 512 through a dense residual projection) → masked
// mean → dense 512×512 + tanh → L2 normalisation.
type model struct {
	tok    *tokenizer
	emb    []float32 // [vocab, 256]
	embDim int
	timing []float32 // [maxTokens, 256]: the timing signal of each position
	layers [2]layer
	tanh   packedB
	tanhB  []float32
	lnEps  float32
	l2Eps  float32
	// asm selects the AVX2/FMA kernels; false runs the Go ones (CPUs
	// without AVX2 or FMA, and the test that checks them).
	asm     bool
	scratch sync.Pool // *scratch, one forward pass's buffers
	l0      layer0Tables
	pieces  pieceTable
}

func newModel(mf *modelFile, asm bool) (*model, error) {
	var err error
	get := func(name string, shape ...int) []float32 {
		t, ok := mf.tensors[name]
		if !ok {
			if err == nil {
				err = fmt.Errorf("tensor %s missing", name)
			}
			return nil
		}
		size := 1
		for _, d := range shape {
			size *= d
		}
		if len(t.data) != size {
			if err == nil {
				err = fmt.Errorf("tensor %s has shape %v, want %v", name, t.shape, shape)
			}
			return nil
		}
		return t.data
	}
	scalar := func(name string) float32 {
		if d := get(name); d != nil {
			return d[0]
		}
		return 0
	}
	// pack packs a [k, n] weight in place (the file's tensors are ours),
	// or nothing when it is missing (err says so).
	var tmp []float32
	pack := func(name string, k, n int) packedB {
		if w := get(name, k, n); w != nil {
			return packBInPlace(w, k, n, &tmp)
		}
		return packedB{}
	}
	const e = 256
	m := &model{embDim: e, tok: newTokenizer(mf.pieces), asm: asm}
	m.emb = get("emb", len(mf.pieces)+2, e)
	invTime := get("timing", 1, e/2)
	m.tanh = pack("tanh.w", Dimension, Dimension)
	m.tanhB = get("tanh.b", Dimension)
	m.lnEps = scalar("ln.eps")
	m.l2Eps = scalar("l2.eps")
	for i := range m.layers {
		in := e
		if i == 1 {
			in = Dimension
		}
		p := fmt.Sprintf("l%d.", i)
		l := &m.layers[i]
		l.in, l.width, l.hidden, l.heads = in, Dimension, 3*Dimension, 4
		l.dk = in / l.heads
		l.ln1s, l.ln1b = get(p+"ln1.s", in), get(p+"ln1.b", in)
		l.qscale = scalar(p + "qscale")
		w, b := get(p+"qkv.w", in, 3*in), get(p+"qkv.b", 3*in)
		if i == 1 && w != nil && b != nil {
			// Queries are scaled before attention: fold the scale into
			// their columns. Layer 0 scales through its tables
			// (newLayer0Tables).
			for r := 0; r < in; r++ {
				vek32.MulNumber_Inplace(w[r*3*in:r*3*in+in], l.qscale)
			}
			vek32.MulNumber_Inplace(b[:in], l.qscale)
		}
		if w != nil {
			l.qkv = packBInPlace(w, in, 3*in, &tmp)
		}
		l.qkvB = b
		l.out, l.outB = pack(p+"out.w", in, Dimension), get(p+"out.b", Dimension)
		l.ln2s, l.ln2b = get(p+"ln2.s", Dimension), get(p+"ln2.b", Dimension)
		l.ffn1, l.ffn1B = pack(p+"ffn1.w", Dimension, 3*Dimension), get(p+"ffn1.b", 3*Dimension)
		l.ffn2, l.ffn2B = pack(p+"ffn2.w", 3*Dimension, Dimension), get(p+"ffn2.b", Dimension)
		if i == 0 {
			l.res, l.resB = pack("l0.res.w", e, Dimension), get("l0.res.b", Dimension)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("builtin: model file: %w", err)
	}
	// The timing signal depends on the position only: computing it once
	// keeps 256 sin/cos per token out of every pass.
	half := e / 2
	m.timing = make([]float32, maxTokens*e)
	for pos := 0; pos < maxTokens; pos++ {
		row := m.timing[pos*e : (pos+1)*e]
		for j := 0; j < half; j++ {
			arg := float32(pos) * invTime[j]
			row[j] = float32(math.Sin(float64(arg)))
			row[half+j] = float32(math.Cos(float64(arg)))
		}
	}
	m.newLayer0Tables()
	return m, nil
}

// kernelName names the matrix kernels the forward pass uses.
func (m *model) kernelName() string {
	if m.asm {
		return "AVX2+FMA"
	}
	return "Go"
}

// rowBlock is how many tokens go through the row-wise stages (norms,
// projections, FFN) together: the FFN's hidden rows (rowBlock × 1536
// floats, 1.2 MB) stay in cache instead of round-tripping through memory,
// and each weight panel is read once per block (= mcBlock).
const rowBlock = 192

// scratch is one forward pass's buffers, reused through model.scratch so
// a pass allocates nothing but its output.
type scratch struct {
	g        gemm
	off      []int     // start row of each text; off[len] = total rows
	row      []float32 // [768] one token's temporaries
	ids      []int32   // pieces not yet in the piece table
	x1       []float32 // [rows, 512] the residual stream after layer 0's input projection
	qkv      []float32 // [rows, 3·in] the current layer's queries, keys, values
	ctx      []float32 // [rows, in] attention's output
	ln       []float32 // [rowBlock, 512] a normed block
	hid      []float32 // [rowBlock, 1536] the FFN's hidden block
	scores   []float32 // [n, n] one head's attention weights
	kt, v    []float32 // one head's keys (transposed) and values, packed
	poolHid  []float32 // [texts, 1536] layer 1's mean FFN hidden
	poolAtt  []float32 // [texts, 512] layer 1's mean attention output
	dense    []float32 // [texts, 512]
	textRows []int     // row → text, for pooling
}

func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

func (m *model) getScratch() *scratch {
	if s, ok := m.scratch.Get().(*scratch); ok {
		return s
	}
	s := &scratch{row: make([]float32, 3*Dimension)}
	s.ln = make([]float32, rowBlock*Dimension)
	s.hid = make([]float32, rowBlock*3*Dimension)
	s.scores = make([]float32, maxTokens*maxTokens)
	s.kt = make([]float32, Dimension/4*maxTokens)
	s.v = make([]float32, maxTokens*Dimension/4)
	return s
}

// forward embeds already tokenized sequences (each 0..128 ids) into out,
// one new vector per text. Every row-wise product runs over blocks of
// rowBlock tokens of the whole batch; attention runs per text.
//
// Layer 1's second FFN matrix is applied after pooling: the mean over a
// text's tokens of relu(h)·W2 + b2 + att equals mean(relu(h))·W2 + b2 +
// mean(att), which saves 17% of the model's multiply-adds.
func (m *model) forward(tokens [][]int32, out [][]float32) {
	s := m.getScratch()
	defer m.scratch.Put(s)
	s.g.asm = m.asm
	nt := len(tokens)
	s.off = grow(s.off, nt+1)
	s.off[0] = 0
	for i, t := range tokens {
		s.off[i+1] = s.off[i] + len(t)
	}
	total := s.off[nt]
	w, h := Dimension, 3*Dimension
	l0, l1 := &m.layers[0], &m.layers[1]
	s.x1 = grow(s.x1, total*w)
	s.qkv = grow(s.qkv, total*3*w)
	s.ctx = grow(s.ctx, total*w)
	s.textRows = grow(s.textRows, total)
	// Layer 0 up to attention, from the piece and position tables.
	m.ensurePieces(s, tokens)
	for i, t := range tokens {
		for pos, id := range t {
			r := s.off[i] + pos
			s.textRows[r] = i
			m.layer0Input(s, r, id, pos, m.lnEps)
		}
	}
	g := &s.g
	m.attention(l0, s)
	// The rest of layer 0, then layer 1 up to attention.
	for r0 := 0; r0 < total; r0 += rowBlock {
		n := min(rowBlock, total-r0)
		x := s.x1[r0*w : (r0+n)*w]
		l0.ffn(s, x, r0, n, m.lnEps)
		g.mul(x, w, s.hid, h, n, &l0.ffn2, l0.ffn2B, kLoad|kBias)
		layerNorm(s.ln[:n*w], x, l1.ln1s, l1.ln1b, w, m.lnEps)
		g.mul(s.qkv[r0*3*w:], 3*w, s.ln, w, n, &l1.qkv, l1.qkvB, kBias)
	}
	m.attention(l1, s)
	// The rest of layer 1, summed per text for the mean.
	s.poolHid = grow(s.poolHid, nt*h)
	s.poolAtt = grow(s.poolAtt, nt*w)
	clear(s.poolHid)
	clear(s.poolAtt)
	for r0 := 0; r0 < total; r0 += rowBlock {
		n := min(rowBlock, total-r0)
		x := s.x1[r0*w : (r0+n)*w]
		l1.ffn(s, x, r0, n, m.lnEps)
		for r := 0; r < n; r++ {
			i := s.textRows[r0+r]
			vek32.Add_Inplace(s.poolHid[i*h:(i+1)*h], s.hid[r*h:(r+1)*h])
			vek32.Add_Inplace(s.poolAtt[i*w:(i+1)*w], x[r*w:(r+1)*w])
		}
	}
	for i := 0; i < nt; i++ {
		if c := s.off[i+1] - s.off[i]; c > 0 {
			vek32.DivNumber_Inplace(s.poolHid[i*h:(i+1)*h], float32(c))
			vek32.DivNumber_Inplace(s.poolAtt[i*w:(i+1)*w], float32(c))
		}
	}
	g.mul(s.poolAtt, w, s.poolHid, h, nt, &l1.ffn2, l1.ffn2B, kLoad|kBias)
	for i := 0; i < nt; i++ {
		if s.off[i+1] == s.off[i] {
			clear(s.poolAtt[i*w : (i+1)*w]) // an empty text's mean is zero
		}
	}
	s.dense = grow(s.dense, nt*w)
	g.mul(s.dense, w, s.poolAtt, w, nt, &m.tanh, m.tanhB, kBias)
	vecs := make([]float32, nt*Dimension)
	for i := range out {
		v := vecs[i*Dimension : (i+1)*Dimension]
		var ss float32
		for j, d := range s.dense[i*w : (i+1)*w] {
			t := float32(math.Tanh(float64(d)))
			v[j] = t
			ss += t * t
		}
		inv := 1 / sqrtf(max(ss, m.l2Eps))
		vek32.MulNumber_Inplace(v, inv)
		out[i] = v
	}
}

// ffn runs rows [r0, r0+n) of x (the residual stream, n rows) through
// the attention's output projection (added to x in place) and the FFN's
// norm and first matrix with ReLU, into s.hid.
func (l *layer) ffn(s *scratch, x []float32, r0, n int, eps float32) {
	w := l.width
	s.g.mul(x, w, s.ctx[r0*l.in:], l.in, n, &l.out, l.outB, kLoad|kBias)
	layerNorm(s.ln[:n*w], x, l.ln2s, l.ln2b, w, eps)
	s.g.mul(s.hid, l.hidden, s.ln, w, n, &l.ffn1, l.ffn1B, kBias|kRelu)
}

// attention computes multi-head self-attention of every text from s.qkv
// into s.ctx; padding never enters, so no mask is needed. Each head is
// two small products on the same kernel: scores = q·kᵀ (the queries come
// scaled: the scale is folded into their weights), softmax by row,
// scores·v.
func (m *model) attention(l *layer, s *scratch) {
	in, dk, stride := l.in, l.dk, 3*l.in
	for i := 0; i+1 < len(s.off); i++ {
		a, b := s.off[i], s.off[i+1]
		n := b - a
		if n == 0 {
			continue // an empty text has no tokens: its pooled mean is zero
		}
		np := roundUp(n, nr)
		rows := s.qkv[a*stride : b*stride]
		for head := 0; head < l.heads; head++ {
			qo, ko, vo := head*dk, in+head*dk, 2*in+head*dk
			kt := packedB{k: dk, n: n, data: s.kt[:dk*np]}
			packKT(kt.data, rows, stride, ko, n, dk)
			sc := s.scores[:n*n]
			s.g.mul(sc, n, rows[qo:], stride, n, &kt, nil, 0)
			for t := 0; t < n; t++ {
				softmax(sc[t*n:(t+1)*n], s.g.asm)
			}
			v := packedB{k: n, n: dk, data: s.v[:n*dk]}
			packV(v.data, rows, stride, vo, n, dk)
			s.g.mul(s.ctx[a*in+qo:], in, sc, n, n, &v, nil, 0)
		}
	}
}

// packKT packs one head's keys, transposed, as a [dk, n] packedB (a
// single k-block: dk ≤ 128): column j of panel p is token 16p+j's key.
func packKT(dst, rows []float32, stride, ko, n, dk int) {
	for p := 0; p < roundUp(n, nr)/nr; p++ {
		pan := dst[p*dk*nr : (p+1)*dk*nr]
		for j := 0; j < nr; j++ {
			t := p*nr + j
			if t >= n {
				for d := 0; d < dk; d++ {
					pan[d*nr+j] = 0
				}
				continue
			}
			for d, v := range rows[t*stride+ko : t*stride+ko+dk] {
				pan[d*nr+j] = v
			}
		}
	}
}

// packV packs one head's values as an [n, dk] packedB (a single k-block:
// n ≤ 128): panel p holds dims 16p..16p+15 of every token.
func packV(dst, rows []float32, stride, vo, n, dk int) {
	for p := 0; p < dk/nr; p++ {
		pan := dst[p*n*nr : (p+1)*n*nr]
		for t := 0; t < n; t++ {
			src := rows[t*stride+vo+p*nr:]
			copy(pan[t*nr:(t+1)*nr], src[:nr])
		}
	}
}

// softmax normalises w in place, subtracting the max first like TF. With
// the assembly kernels the exponentials run 8 at a time (expSub) and only
// a tail of fewer than 8 goes through math.Exp; which values take which
// path depends on the length only, so results stay deterministic.
func softmax(w []float32, asm bool) {
	mx := vek32.Max(w)
	var sum float32
	head := 0
	if asm {
		head = len(w) / 8 * 8
		if head > 0 {
			sum = expSub(unsafe.SliceData(w), head, mx)
		}
	}
	for j := head; j < len(w); j++ {
		w[j] = float32(math.Exp(float64(w[j] - mx)))
		sum += w[j]
	}
	vek32.DivNumber_Inplace(w, sum)
}

// layerNorm normalises each row of x (width d) into out:
// (x-mean)·rsqrt(var+eps)·s+b.
func layerNorm(out, x, scale, bias []float32, d int, eps float32) {
	for r := 0; r < len(x)/d; r++ {
		row := x[r*d : (r+1)*d]
		o := out[r*d : (r+1)*d]
		mean := vek32.Sum(row) / float32(d)
		vek32.SubNumber_Into(o, row, mean)
		variance := vek32.Dot(o, o) / float32(d)
		inv := 1 / sqrtf(variance+eps)
		vek32.Mul_Inplace(o, scale)
		vek32.MulNumber_Inplace(o, inv)
		vek32.Add_Inplace(o, bias)
	}
}

func sqrtf(x float32) float32 { return float32(math.Sqrt(float64(x))) }
