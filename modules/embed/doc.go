// Package embed is the embed module (being written).
package embed
