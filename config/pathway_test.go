package config

import (
	"strings"
	"testing"
)

func TestPathwayValidate(t *testing.T) {
	def := defaultPathway()
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	cases := []struct {
		edit func(*PathwayConfig)
		want string
	}{
		{func(c *PathwayConfig) { c.Log = "" }, "log"},
		{func(c *PathwayConfig) { c.MaxBody = 0 }, "max_body"},
		{func(c *PathwayConfig) { c.CompactBytes = -1 }, "compact_bytes"},
		{func(c *PathwayConfig) { c.VectorIndex = "../x" }, "vector_index"},
	}
	for _, tc := range cases {
		c := defaultPathway()
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error naming %s, got %v", tc.want, err)
		}
	}
	off := defaultPathway()
	off.Semantic, off.VectorIndex = false, ""
	if err := off.Validate(); err != nil {
		t.Fatalf("semantic off needs no index name: %v", err)
	}
}
