package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"lakehouse/internal/client"
)

// streamObjects is client.Stream with every NDJSON line decoded as a JSON
// object (numbers as json.Number), for tools that report progress.
func streamObjects(ctx context.Context, c *client.Client, method, path string, body any, line func(map[string]any)) error {
	return c.Stream(ctx, method, path, body, func(b []byte) error {
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			return fmt.Errorf("decode progress line: %w", err)
		}
		line(obj)
		return nil
	})
}
