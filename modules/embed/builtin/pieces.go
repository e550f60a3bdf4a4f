package builtin

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/viterin/vek/vek32"
)

// Layer 0 sees each token as x = 2·E[id] + T[pos], so what is linear in
// x splits into a part that depends on the piece only and a part that
// depends on the position only:
//
//	res(x) = x·Wres + bres            = 2E[id]·Wres + (T[pos]·Wres + bres)
//	qkv(x) = LN(x)·Wqkv + bqkv, LN(x) = (x − μ)·ρ ⊙ s + β with ρ = 1/σ, so
//	qkv(x) = ρ·((2E[id] ⊙ s)·Wqkv + (T[pos] ⊙ s)·Wqkv) − ρμ·(s·Wqkv) + (β·Wqkv + bqkv)
//
// The position parts are computed at load (128 positions); the piece
// parts on a piece's first use (pieceTable), after which a token costs
// its norm's two statistics and a few vector adds instead of 1,280 dot
// products of length 256 (8.5% of the model's multiply-adds).

// pieceTable holds the piece parts, filled on first use so that only the
// pieces a deployment meets take memory (the table is 41 MB for all 8,002
// pieces; a staffing corpus touches a few thousand).
type pieceTable struct {
	mu    sync.Mutex
	ready []atomic.Bool
	qkv   []float32 // [pieces, 768] (2E[id] ⊙ s)·Wqkv, queries scaled
	res   []float32 // [pieces, 512] 2E[id]·Wres
}

// layer0Tables are the position parts and constants of the split.
type layer0Tables struct {
	posQKV []float32 // [maxTokens, 768] (T[pos] ⊙ s)·Wqkv, queries scaled
	posRes []float32 // [maxTokens, 512] T[pos]·Wres + bres
	sW     []float32 // [768] s·Wqkv, queries scaled
	bias   []float32 // [768] β·Wqkv + bqkv, queries scaled
}

// newLayer0Tables computes the position parts with the model's kernels.
func (m *model) newLayer0Tables() {
	l := &m.layers[0]
	e, q := m.embDim, 3*l.in
	g := &gemm{asm: m.asm}
	m.pieces = pieceTable{
		ready: make([]atomic.Bool, len(m.emb)/e),
		qkv:   make([]float32, len(m.emb)/e*q),
		res:   make([]float32, len(m.emb)/e*Dimension),
	}
	t := &m.l0
	t.posRes = make([]float32, maxTokens*Dimension)
	g.mul(t.posRes, Dimension, m.timing, e, maxTokens, &l.res, l.resB, kBias)
	scaled := make([]float32, maxTokens*e)
	for p := 0; p < maxTokens; p++ {
		vek32.Mul_Into(scaled[p*e:(p+1)*e], m.timing[p*e:(p+1)*e], l.ln1s)
	}
	t.posQKV = make([]float32, maxTokens*q)
	g.mul(t.posQKV, q, scaled, e, maxTokens, &l.qkv, nil, 0)
	t.sW = make([]float32, q)
	g.mul(t.sW, q, l.ln1s, e, 1, &l.qkv, nil, 0)
	t.bias = make([]float32, q)
	g.mul(t.bias, q, l.ln1b, e, 1, &l.qkv, l.qkvB, kBias)
	for p := 0; p < maxTokens; p++ {
		vek32.MulNumber_Inplace(t.posQKV[p*q:p*q+l.in], l.qscale)
	}
	vek32.MulNumber_Inplace(t.sW[:l.in], l.qscale)
	vek32.MulNumber_Inplace(t.bias[:l.in], l.qscale)
}

// ensurePieces fills the piece parts of every id in tokens not yet in the
// table. Writers hold mu; a reader that sees ready[id] (an atomic) sees
// the rows written before it was set.
func (m *model) ensurePieces(s *scratch, tokens [][]int32) {
	pt := &m.pieces
	s.ids = s.ids[:0]
	for _, t := range tokens {
		for _, id := range t {
			if !pt.ready[id].Load() {
				s.ids = append(s.ids, id)
			}
		}
	}
	if len(s.ids) == 0 {
		return
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	slices.Sort(s.ids)
	ids := slices.Compact(s.ids)
	ids = slices.DeleteFunc(ids, func(id int32) bool { return pt.ready[id].Load() })
	if len(ids) == 0 {
		return
	}
	l := &m.layers[0]
	e, q, n := m.embDim, 3*l.in, len(ids)
	x := make([]float32, n*e)
	for i, id := range ids {
		row := x[i*e : (i+1)*e]
		vek32.MulNumber_Into(row, m.emb[int(id)*e:(int(id)+1)*e], 2)
	}
	res := make([]float32, n*Dimension)
	s.g.mul(res, Dimension, x, e, n, &l.res, nil, 0)
	for i := 0; i < n; i++ {
		vek32.Mul_Inplace(x[i*e:(i+1)*e], l.ln1s)
	}
	qkv := make([]float32, n*q)
	s.g.mul(qkv, q, x, e, n, &l.qkv, nil, 0)
	for i, id := range ids {
		vek32.MulNumber_Inplace(qkv[i*q:i*q+l.in], l.qscale)
		copy(pt.qkv[int(id)*q:(int(id)+1)*q], qkv[i*q:(i+1)*q])
		copy(pt.res[int(id)*Dimension:(int(id)+1)*Dimension], res[i*Dimension:(i+1)*Dimension])
		pt.ready[id].Store(true)
	}
}

// layer0Input writes token r's (piece id at pos) layer-0 queries, keys and
// values into s.qkv and its residual stream into s.x1, from the tables.
func (m *model) layer0Input(s *scratch, r int, id int32, pos int, eps float32) {
	l, t, pt := &m.layers[0], &m.l0, &m.pieces
	e, q := m.embDim, 3*l.in
	x := s.row[:e]
	src := m.emb[int(id)*e : (int(id)+1)*e]
	tim := m.timing[pos*e : (pos+1)*e]
	// The graph adds the embeddings to the timing-signalled copy of
	// themselves (Layer_0/add = Scatter + AddTimingSignal/Scatter).
	for j := range x {
		x[j] = 2*src[j] + tim[j]
	}
	mean := vek32.Sum(x) / float32(e)
	vek32.SubNumber_Inplace(x, mean)
	rho := float32(1 / sqrtf(vek32.Dot(x, x)/float32(e)+eps))
	out := s.qkv[r*q : (r+1)*q]
	vek32.Add_Into(out, pt.qkv[int(id)*q:(int(id)+1)*q], t.posQKV[pos*q:(pos+1)*q])
	vek32.MulNumber_Inplace(out, rho)
	vek32.MulNumber_Into(s.row[:q], t.sW, -rho*mean)
	vek32.Add_Inplace(out, s.row[:q])
	vek32.Add_Inplace(out, t.bias)
	vek32.Add_Into(s.x1[r*Dimension:(r+1)*Dimension], pt.res[int(id)*Dimension:(int(id)+1)*Dimension], t.posRes[pos*Dimension:(pos+1)*Dimension])
}
