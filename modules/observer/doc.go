// Package observer is the observer module (being written).
package observer
