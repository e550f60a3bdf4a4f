package storage

import (
	"context"
	"strings"
	"unicode/utf8"
)

// afterUnderscoreKeys is a listing cursor past every key that starts with
// "_": keys are valid UTF-8, so the largest rune right after "_" bounds
// them, and the next key in order starts with "`" or later. Any key it
// could skip starts with "_" and is reserved anyway.
var afterUnderscoreKeys = "_" + string(utf8.MaxRune)

// publicList is List as the public API sees it: reserved keys are left
// out, and pages are refilled so a client still gets up to limit keys.
// The reserved "_" keys sort together, so the listing jumps over them in
// one step instead of paging through module state.
func publicList(ctx context.Context, st Store, prefix, cursor string, limit int) (ListPage, error) {
	out := ListPage{Objects: []ObjectInfo{}}
	for {
		page, err := st.List(ctx, prefix, cursor, limit-len(out.Objects))
		if err != nil {
			return ListPage{}, err
		}
		skipUnderscore := false
		for _, o := range page.Objects {
			if CheckPublicKey(o.Key) != nil {
				skipUnderscore = skipUnderscore || strings.HasPrefix(o.Key, "_")
				continue
			}
			out.Objects = append(out.Objects, o)
		}
		next := page.Cursor
		if skipUnderscore && (next == "" || next < afterUnderscoreKeys) {
			// Jump over the rest of the "_" range; a page that ended
			// inside it would otherwise have to walk it a page at a time.
			next = afterUnderscoreKeys
			if page.Cursor == "" {
				next = "" // the page was the last one
			}
		}
		if next == "" {
			return out, nil
		}
		cursor = next
		if len(out.Objects) >= limit {
			out.Cursor = next
			return out, nil
		}
	}
}
