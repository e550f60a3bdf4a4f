package builtin

import (
	"strings"
	"unicode/utf16"

	"golang.org/x/text/unicode/norm"
)

// reservedPieces are the control pieces (unk, <s>, </s>, extras) that the
// segmenter never produces from text; id 0 is the unknown piece.
const reservedPieces = 6

// maxTokens is the graph's ClipToMaxLength: later positions are dropped.
const maxTokens = 128

// maxRunes bounds the segmented text. Pieces are at most 16 runes, so the
// 128 tokens kept come from the first 2,048 runes (unless long runs of
// unknown characters collapse); the cap keeps the lattice's memory bounded
// on multi-megabyte inputs without changing the tokens of real text.
const maxRunes = 16384

// tokenizer is the SentencePiece-style segmenter of the original encoder,
// reproduced decision for decision (see encode).
type tokenizer struct {
	pieces []piece
	// trie over runes; node 0 is the root.
	nodes []trieNode
	// lens16 is each piece's length in UTF-16 code units: the original
	// walks back by JavaScript string length, and so do we.
	lens16 []int
}

type trieNode struct {
	children map[rune]int32
	id       int32 // piece id ending here, -1 when none
}

func newTokenizer(pieces []piece) *tokenizer {
	t := &tokenizer{pieces: pieces, nodes: []trieNode{{id: -1}}, lens16: make([]int, len(pieces))}
	for i, p := range pieces {
		t.lens16[i] = len(utf16.Encode([]rune(p.text)))
		if i < reservedPieces {
			continue
		}
		n := int32(0)
		for _, r := range p.text {
			next, ok := t.nodes[n].children[r]
			if !ok {
				if t.nodes[n].children == nil {
					t.nodes[n].children = map[rune]int32{}
				}
				next = int32(len(t.nodes))
				t.nodes[n].children[r] = next
				t.nodes = append(t.nodes, trieNode{id: -1})
			}
			n = next
		}
		// A duplicate piece overwrites the earlier one, as in the original.
		t.nodes[n].id = int32(i)
	}
	return t
}

// candidate is one lattice edge.
type candidate struct {
	start int
	id    int32
	score float64
}

// encode returns the piece ids of text, at most maxTokens of them:
// NFKC, "▁" prefix with spaces turned into "▁", then the best-scoring
// segmentation over the lattice of vocabulary pieces (scores summed in
// float64 like the original's JavaScript numbers), unknown characters as
// id 0 with runs of them collapsed.
func (t *tokenizer) encode(text string) []int32 {
	if len(text) > 4*maxRunes {
		text = text[:4*maxRunes] // NFKC never shrinks much; cut before it
	}
	s := norm.NFKC.String(text)
	if s == "" {
		return nil
	}
	s = "▁" + strings.ReplaceAll(s, " ", "▁")
	syms := []rune(s)
	if len(syms) > maxRunes {
		syms = syms[:maxRunes]
	}
	n := len(syms)
	// ends[e] lists the edges ending at e, in ascending start order (the
	// original visits them in that order and lets later ties win).
	ends := make([][]candidate, n+1)
	for i := 0; i < n; i++ {
		matched := false
		node := int32(0)
		for j := i; j < n; j++ {
			next, ok := t.nodes[node].children[syms[j]]
			if !ok {
				break
			}
			node = next
			if id := t.nodes[node].id; id >= 0 {
				ends[j+1] = append(ends[j+1], candidate{start: i, id: id, score: t.pieces[id].score})
				matched = true
			}
		}
		if !matched {
			ends[i+1] = append(ends[i+1], candidate{start: i, id: 0, score: 0})
		}
	}
	best := make([]float64, n+1)
	words := make([]int32, n+1)
	for e := 0; e <= n; e++ {
		for _, c := range ends[e] {
			score := c.score + best[c.start]
			// best == 0 means "unset" in the original, even when a real
			// path scored exactly 0 (a leading unknown character).
			if best[e] == 0 || score >= best[e] {
				best[e] = score
				words[e] = c.id
			}
		}
	}
	var rev []int32
	for i := n; i > 0; {
		id := words[i]
		rev = append(rev, id)
		i -= max(t.lens16[id], 1) // a zero-length piece would never end
	}
	out := make([]int32, 0, len(rev))
	prevUnk := false
	for _, id := range rev {
		if !(prevUnk && id == 0) {
			out = append(out, id)
		}
		prevUnk = id == 0
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if len(out) > maxTokens {
		out = out[:maxTokens]
	}
	return out
}
