package builtin

import (
	"fmt"
	"math"
	"sync"

	"github.com/viterin/vek/vek32"

	"lakehouse/internal/cpus"
)

// Dimension is the length of every vector the builtin encoder returns.
const Dimension = 512

// layer is one transformer layer's weights, all row-major [in, out].
type layer struct {
	ln1s, ln1b    []float32
	qkvW, qkvB    []float32
	outW, outB    []float32
	ln2s, ln2b    []float32
	ffn1W, ffn1B  []float32
	ffn2W, ffn2B  []float32
	resW, resB    []float32 // only layer 0: projects the 256-d input to 512
	in, heads, dk int
	qscale        float32
	width, hidden int
}

// model is the USE-lite forward pass (the graph in model.json):
// embeddings ×2 + sinusoidal timing → 2 pre-norm transformer layers (the
// first widens 256 → 512 through a dense residual projection) → masked
// mean → dense 512×512 + tanh → L2 normalisation.
type model struct {
	tok     *tokenizer
	emb     []float32 // [vocab, 256]
	embDim  int
	invTime []float32 // [128] inverse timescales
	layers  [2]layer
	tanhW   []float32
	tanhB   []float32
	lnEps   float32
	l2Eps   float32
}

func newModel(mf *modelFile) (*model, error) {
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
	const e = 256
	m := &model{embDim: e, tok: newTokenizer(mf.pieces)}
	m.emb = get("emb", len(mf.pieces)+2, e)
	m.invTime = get("timing", 1, e/2)
	m.tanhW = get("tanh.w", Dimension, Dimension)
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
		l.qkvW, l.qkvB = get(p+"qkv.w", in, 3*in), get(p+"qkv.b", 3*in)
		l.outW, l.outB = get(p+"out.w", in, Dimension), get(p+"out.b", Dimension)
		l.ln2s, l.ln2b = get(p+"ln2.s", Dimension), get(p+"ln2.b", Dimension)
		l.ffn1W, l.ffn1B = get(p+"ffn1.w", Dimension, 3*Dimension), get(p+"ffn1.b", 3*Dimension)
		l.ffn2W, l.ffn2B = get(p+"ffn2.w", 3*Dimension, Dimension), get(p+"ffn2.b", Dimension)
		l.qscale = scalar(p + "qscale")
		if i == 0 {
			l.resW, l.resB = get("l0.res.w", e, Dimension), get("l0.res.b", Dimension)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("builtin: model file: %w", err)
	}
	return m, nil
}

// seqs describes a batch of token sequences laid out back to back.
type seqs struct {
	off []int // start row of each sequence; off[len] = total rows
}

func (s seqs) n() int                { return len(s.off) - 1 }
func (s seqs) rows(i int) (int, int) { return s.off[i], s.off[i+1] }

// forward embeds already tokenized sequences (each 0..128 ids). All
// matrix products run over every token of the batch at once.
func (m *model) forward(tokens [][]int32) [][]float32 {
	s := seqs{off: make([]int, len(tokens)+1)}
	for i, t := range tokens {
		s.off[i+1] = s.off[i] + len(t)
	}
	total := s.off[len(tokens)]
	e := m.embDim
	x := make([]float32, total*e)
	half := e / 2
	for i, t := range tokens {
		for pos, id := range t {
			row := x[(s.off[i]+pos)*e : (s.off[i]+pos+1)*e]
			src := m.emb[int(id)*e : (int(id)+1)*e]
			// The graph adds the embeddings to the timing-signalled copy of
			// themselves (Layer_0/add = Scatter + AddTimingSignal/Scatter).
			for j := 0; j < half; j++ {
				arg := float32(pos) * m.invTime[j]
				row[j] = 2*src[j] + float32(math.Sin(float64(arg)))
				row[half+j] = 2*src[half+j] + float32(math.Cos(float64(arg)))
			}
		}
	}
	h := m.layers[0].apply(x, s, m.lnEps)
	h = m.layers[1].apply(h, s, m.lnEps)

	out := make([][]float32, len(tokens))
	pooled := make([]float32, len(tokens)*Dimension)
	for i := range tokens {
		a, b := s.rows(i)
		p := pooled[i*Dimension : (i+1)*Dimension]
		for r := a; r < b; r++ {
			vek32.Add_Inplace(p, h[r*Dimension:(r+1)*Dimension])
		}
		vek32.DivNumber_Inplace(p, float32(max(b-a, 1)))
	}
	dense := matmulBias(pooled, m.tanhW, m.tanhB, len(tokens), Dimension, Dimension)
	for i := range tokens {
		v := dense[i*Dimension : (i+1)*Dimension]
		var ss float32
		for j, d := range v {
			t := float32(math.Tanh(float64(d)))
			v[j] = t
			ss += t * t
		}
		inv := float32(1 / math.Sqrt(float64(max(ss, m.l2Eps))))
		vek32.MulNumber_Inplace(v, inv)
		out[i] = v
	}
	return out
}

// apply runs one pre-norm transformer layer over every row of x.
func (l *layer) apply(x []float32, s seqs, eps float32) []float32 {
	total := s.off[s.n()]
	// Residual branch: layer 0 projects its input to the model width.
	res := x
	if l.resW != nil {
		res = matmulBias(x, l.resW, l.resB, total, l.in, l.width)
	}
	h := layerNorm(x, l.ln1s, l.ln1b, l.in, eps)
	qkv := matmulBias(h, l.qkvW, l.qkvB, total, l.in, 3*l.in)
	ctx := make([]float32, total*l.in)
	// Attention is per text: split the texts over the cores (each writes
	// its own rows of ctx); vek already spreads the matrix products.
	workers := min(cpus.N(), s.n())
	if total < 256 {
		workers = 1
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < s.n(); i += workers {
				a, b := s.rows(i)
				l.attend(qkv, ctx, a, b)
			}
		}(w)
	}
	wg.Wait()
	att := matmulBias(ctx, l.outW, l.outB, total, l.in, l.width)
	vek32.Add_Inplace(att, res)
	// FFN with its own pre-norm and residual.
	f := layerNorm(att, l.ln2s, l.ln2b, l.width, eps)
	f = matmulBias(f, l.ffn1W, l.ffn1B, total, l.width, l.hidden)
	vek32.MaximumNumber_Inplace(f, 0) // ReLU
	f = matmulBias(f, l.ffn2W, l.ffn2B, total, l.hidden, l.width)
	vek32.Add_Inplace(f, att)
	return f
}

// attend computes multi-head self-attention of rows [a, b) into ctx;
// padding never enters, so no mask is needed. Each head is three small
// matrix products: scores = (q·scale)·kᵀ, softmax by row, scores·v.
func (l *layer) attend(qkv, ctx []float32, a, b int) {
	n, dk, stride := b-a, l.dk, 3*l.in
	if n == 0 {
		return // an empty text has no tokens: its pooled mean is zero
	}
	q := make([]float32, n*dk)
	kt := make([]float32, dk*n)
	v := make([]float32, n*dk)
	scores := make([]float32, n*n)
	out := make([]float32, n*dk)
	for head := 0; head < l.heads; head++ {
		qo, ko, vo := head*dk, l.in+head*dk, 2*l.in+head*dk
		for t := 0; t < n; t++ {
			row := qkv[(a+t)*stride : (a+t+1)*stride]
			vek32.MulNumber_Into(q[t*dk:(t+1)*dk], row[qo:qo+dk], l.qscale)
			copy(v[t*dk:(t+1)*dk], row[vo:vo+dk])
			for j := 0; j < dk; j++ {
				kt[j*n+t] = row[ko+j]
			}
		}
		vek32.MatMul_Into(scores, q, kt, dk)
		for t := 0; t < n; t++ {
			softmax(scores[t*n : (t+1)*n])
		}
		vek32.MatMul_Into(out, scores, v, n)
		for t := 0; t < n; t++ {
			copy(ctx[(a+t)*l.in+qo:(a+t)*l.in+qo+dk], out[t*dk:(t+1)*dk])
		}
	}
}

// softmax normalises w in place, subtracting the max first like TF.
func softmax(w []float32) {
	mx := vek32.Max(w)
	var sum float32
	for j := range w {
		w[j] = float32(math.Exp(float64(w[j] - mx)))
		sum += w[j]
	}
	vek32.DivNumber_Inplace(w, sum)
}

// matmulBias returns x[m,n] · w[n,p] + bias, batched through vek.
func matmulBias(x, w, bias []float32, m, n, p int) []float32 {
	if m == 0 {
		return nil
	}
	// MatMul allocates a zeroed result; MatMul_Into would zero it again.
	dst := vek32.MatMul(x[:m*n], w, n)
	for i := 0; i < m; i++ {
		vek32.Add_Inplace(dst[i*p:(i+1)*p], bias)
	}
	return dst
}

// layerNorm normalises each row of width d: (x-mean)·rsqrt(var+eps)·s+b.
func layerNorm(x, scale, bias []float32, d int, eps float32) []float32 {
	out := make([]float32, len(x))
	for r := 0; r < len(x)/d; r++ {
		row := x[r*d : (r+1)*d]
		o := out[r*d : (r+1)*d]
		mean := vek32.Sum(row) / float32(d)
		vek32.SubNumber_Into(o, row, mean)
		variance := vek32.Dot(o, o) / float32(d)
		inv := float32(1 / math.Sqrt(float64(variance+eps)))
		vek32.Mul_Inplace(o, scale)
		vek32.MulNumber_Inplace(o, inv)
		vek32.Add_Inplace(o, bias)
	}
	return out
}

// kernelName names the matrix kernels the forward pass uses.
func (m *model) kernelName() string { return "vek" }
