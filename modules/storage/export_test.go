package storage

// PublicList exposes publicList to the external tests.
var PublicList = publicList
