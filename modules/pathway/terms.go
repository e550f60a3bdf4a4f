package pathway

import (
	"slices"
	"sort"
)

// termDict interns tokens so each trace keeps a compact sorted list of
// (term id, count) instead of a map of strings: ~8 bytes per distinct
// term rather than a map bucket and a string header. The dictionary only
// grows (a vocabulary is bounded); it is guarded by the state lock.
type termDict struct{ ids map[string]uint32 }

func newTermDict() *termDict { return &termDict{ids: map[string]uint32{}} }

// termCount is one term of a trace and how often it occurs.
type termCount struct{ id, n uint32 }

// intern returns term's id, adding it when new.
func (d *termDict) intern(term string) uint32 {
	if id, ok := d.ids[term]; ok {
		return id
	}
	id := uint32(len(d.ids))
	d.ids[term] = id
	return id
}

// lookup returns term's id without adding it.
func (d *termDict) lookup(term string) (uint32, bool) {
	id, ok := d.ids[term]
	return id, ok
}

// countTerms tokenizes text into sorted term counts and the token total.
func (d *termDict) countTerms(text string) ([]termCount, int) {
	toks := tokenize(text)
	if len(toks) == 0 {
		return nil, 0
	}
	sort.Strings(toks)
	var out []termCount
	for i := 0; i < len(toks); {
		j := i + 1
		for j < len(toks) && toks[j] == toks[i] {
			j++
		}
		out = append(out, termCount{id: d.intern(toks[i]), n: uint32(j - i)})
		i = j
	}
	slices.SortFunc(out, func(a, b termCount) int { return int(a.id) - int(b.id) })
	return slices.Clip(out), len(toks)
}

// tf returns how often term id occurs in terms (sorted by id).
func tf(terms []termCount, id uint32) int {
	i, ok := slices.BinarySearchFunc(terms, id, func(tc termCount, id uint32) int { return int(tc.id) - int(id) })
	if !ok {
		return 0
	}
	return int(terms[i].n)
}
