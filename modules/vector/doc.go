// Package vector is the vector module (being written).
package vector
