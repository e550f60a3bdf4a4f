// Package embed is the embed module: the Embedder interface, its providers
// (builtin — a pure-Go port of Universal Sentence Encoder lite embedded in
// the binary; ollama; openai-compatible), an LRU cache keyed by model and
// text, and the /v1/embed routes. The dataset → vector index pipeline lives
// in the pipeline subpackage. See docs/embed.md.
package embed
