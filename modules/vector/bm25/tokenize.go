// Package bm25 is the keyword side of a vector index: a tokeniser that
// keeps certification and part codes intact (EPA-608, NCCCO, D1.1, C++)
// while also indexing their pieces, and an in-memory BM25 inverted index
// over dense node ids (the graph's), updated on add and remove.
package bm25

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxTokenBytes bounds one token: longer runs (base64 blobs, hashes) are
// cut, so a pathological text cannot blow up the vocabulary's key sizes.
const MaxTokenBytes = 64

// stopwords are dropped: they carry no signal in a recruiter's query and
// would only dilute scores. Deliberately tiny, so that short codes and
// acronyms (IT, US, ER) survive.
var stopwords = map[string]bool{
	"a": true, "an": true, "and": true, "or": true, "the": true, "of": true, "in": true, "on": true,
	"for": true, "to": true, "with": true, "at": true, "by": true, "from": true, "as": true,
	"is": true, "are": true, "be": true, "s": true,
}

// connector joins the pieces of a code: EPA-608, D1.1, 10/20, first_aid.
func connector(r rune) bool { return r == '-' || r == '.' || r == '/' || r == '_' }

// wordRune is part of a word: a letter, digit, connector, or the '+'/'#'
// of C++ and C#.
func wordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || connector(r) || r == '+' || r == '#'
}

// Tokenize splits s into the terms a document (or a query) is indexed
// under, case-folded, in order, with repetitions (term frequency counts).
//
// A word that holds connectors (EPA-608, D1.1, first_aid) is emitted
// whole, then its pieces (epa, 608), then the pieces joined (epa608), so
// "EPA-608", "EPA608" and "EPA 608" all meet, and the exact code scores
// highest. Letter/digit runs inside a word (osha30) also yield their
// pieces of at least two characters (osha, 30). Plain lowercase-able
// words of at least five letters ending in a single "s" lose it (welders →
// welder); words with digits, connectors or shorter than five letters are
// never stemmed, so codes and acronyms (EMS, CPT, NCCCO) stay as typed.
func Tokenize(s string) []string {
	var out []string
	for len(s) > 0 {
		// Skip to the next word.
		i := strings.IndexFunc(s, wordRune)
		if i < 0 {
			break
		}
		s = s[i:]
		j := strings.IndexFunc(s, func(r rune) bool { return !wordRune(r) })
		if j < 0 {
			j = len(s)
		}
		out = appendWord(out, s[:j])
		s = s[j:]
	}
	return out
}

func appendWord(out []string, w string) []string {
	// Trim connectors and stray +/# at the start, connectors at the end
	// ("driver." → "driver"); a trailing +/# after a letter or digit is
	// part of the word (C++, C#).
	w = strings.TrimLeftFunc(w, func(r rune) bool { return connector(r) || r == '+' || r == '#' })
	w = strings.TrimRightFunc(w, connector)
	if w == "" {
		return out
	}
	w = strings.ToLower(w)
	if len(w) > MaxTokenBytes {
		w = cut(w, MaxTokenBytes)
	}
	if !strings.ContainsFunc(w, func(r rune) bool { return connector(r) || r == '+' || r == '#' }) {
		if stopwords[w] {
			return out
		}
		out = append(out, stem(w))
		return splitAlnum(out, w)
	}
	out = append(out, w)
	parts := strings.FieldsFunc(w, func(r rune) bool { return connector(r) || r == '+' || r == '#' })
	joined := ""
	for _, p := range parts {
		if !stopwords[p] {
			out = append(out, p)
			out = splitAlnum(out, p)
		}
		joined += p
	}
	if len(parts) > 1 && joined != w {
		out = append(out, joined)
	}
	return out
}

// splitAlnum appends the letter and digit runs of w (at least two
// characters each) when w mixes both: osha30 → osha, 30.
func splitAlnum(out []string, w string) []string {
	start, kind := 0, 0 // kind: 1 letter, 2 digit
	var pieces []string
	for i, r := range w {
		k := 1
		if unicode.IsDigit(r) {
			k = 2
		}
		if kind != 0 && k != kind {
			pieces = append(pieces, w[start:i])
			start = i
		}
		kind = k
	}
	if len(pieces) == 0 {
		return out // one run: nothing to split
	}
	pieces = append(pieces, w[start:])
	for _, p := range pieces {
		if utf8.RuneCountInString(p) >= 2 && !stopwords[p] {
			out = append(out, p)
		}
	}
	return out
}

// stem drops a plural "s" from plain words of five or more letters
// (not "ss", "us", "is"): the only stemming, so codes never change.
func stem(w string) string {
	if len(w) < 5 || w[len(w)-1] != 's' {
		return w
	}
	switch w[len(w)-2] {
	case 's', 'u', 'i':
		return w
	}
	for _, r := range w {
		if !unicode.IsLetter(r) {
			return w
		}
	}
	return w[:len(w)-1]
}

// cut shortens s to at most n bytes on a rune boundary.
func cut(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// CodeTerms returns, for each word of a query that looks like a code —
// it holds a digit, a connector, '+' or '#', or is written in capitals
// (NCCCO, CPT, EPA-608, D1.1) — the terms Tokenize makes of it. A
// document holds such a code when it holds any of those terms: the code
// whole, joined, or a piece.
func CodeTerms(query string) [][]string {
	var out [][]string
	for _, w := range strings.FieldsFunc(query, func(r rune) bool { return !wordRune(r) }) {
		letters, upper, other := 0, 0, false
		for _, r := range w {
			switch {
			case unicode.IsLetter(r):
				letters++
				if unicode.IsUpper(r) {
					upper++
				}
			case unicode.IsDigit(r), connector(r), r == '+', r == '#':
				other = true
			}
		}
		if !other && (letters < 2 || upper != letters) {
			continue
		}
		if terms := Tokenize(w); len(terms) > 0 {
			out = append(out, terms)
		}
	}
	return out
}
