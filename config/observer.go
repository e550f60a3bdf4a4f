package config

import "errors"

// ObserverConfig tunes the audit witness.
type ObserverConfig struct {
	// RingSize is how many events the in-memory ring keeps.
	RingSize int `toml:"ring_size"`
}

func defaultObserver() ObserverConfig { return ObserverConfig{RingSize: 2000} }

// Validate checks the observer section.
func (c *ObserverConfig) Validate() error {
	if c.RingSize <= 0 {
		return errors.New("ring_size: must be positive")
	}
	return nil
}
