// Package pathway is the pathway module (being written).
package pathway
