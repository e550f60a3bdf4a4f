package storage

import (
	"context"
	"fmt"
)

// listPage is how many keys one List call asks for when walking a prefix.
const listPage = 1000

// Each calls fn for every object under prefix, in key order, page by page
// (memory stays one page whatever the prefix holds); an error from fn
// stops the walk and is returned as is.
func Each(ctx context.Context, s Store, prefix string, fn func(ObjectInfo) error) error {
	cursor := ""
	for {
		page, err := s.List(ctx, prefix, cursor, listPage)
		if err != nil {
			return fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, o := range page.Objects {
			if err := fn(o); err != nil {
				return err
			}
		}
		if page.Cursor == "" {
			return nil
		}
		cursor = page.Cursor
	}
}

// ListAll returns every object under prefix, in key order.
func ListAll(ctx context.Context, s Store, prefix string) ([]ObjectInfo, error) {
	var out []ObjectInfo
	err := Each(ctx, s, prefix, func(o ObjectInfo) error {
		out = append(out, o)
		return nil
	})
	return out, err
}
