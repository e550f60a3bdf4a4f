package config

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// StorageConfig selects and tunes the object store.
type StorageConfig struct {
	// Backend is "local" (files under data_dir/objects) or "s3".
	Backend string `toml:"backend"`
	// PutCap is the largest object a PUT may write (default 256MiB).
	PutCap ByteSize `toml:"put_cap"`
	// PrefixCaps overrides PutCap for keys under a prefix; the longest
	// matching prefix wins (default: none).
	PrefixCaps map[string]ByteSize `toml:"prefix_caps"`
	// MaxConcurrentPuts caps PUTs in flight through HTTP; more → 503.
	MaxConcurrentPuts int `toml:"max_concurrent_puts"`
	// MaxConcurrentGets caps GETs in flight through HTTP; more → 503.
	MaxConcurrentGets int `toml:"max_concurrent_gets"`
	// FileMode is the permission, in octal, of the files lakehouse creates
	// under data_dir (objects, the metadata database, logs); it must
	// include owner read and write (default "0600": owner only).
	FileMode string `toml:"file_mode"`
	// DirMode is the permission, in octal, of the directories lakehouse
	// creates under data_dir; it must include owner rwx (default "0700").
	// The process umask is set so no file or directory is wider than
	// FileMode and DirMode together allow.
	DirMode string `toml:"dir_mode"`
	// S3 configures the s3 backend.
	S3 S3Config `toml:"s3"`
}

// S3Config is an S3-compatible endpoint (AWS, MinIO, ...).
type S3Config struct {
	// Endpoint is host:port of the S3 service, without a scheme.
	Endpoint string `toml:"endpoint"`
	// Bucket holds every object lakehouse writes.
	Bucket string `toml:"bucket"`
	// Region is the bucket's region (MinIO accepts any).
	Region string `toml:"region"`
	// AccessKey is the S3 access key id (better kept in the secrets file).
	AccessKey string `toml:"access_key"`
	// SecretKey is the S3 secret key (better kept in the secrets file).
	SecretKey string `toml:"secret_key"`
	// UseTLS selects https for the endpoint.
	UseTLS bool `toml:"use_tls"`
	// CreateBucket creates the bucket at start when it does not exist.
	CreateBucket bool `toml:"create_bucket"`
}

func defaultStorage() StorageConfig {
	return StorageConfig{
		Backend:           "local",
		PutCap:            256 << 20,
		PrefixCaps:        map[string]ByteSize{},
		FileMode:          "0600",
		DirMode:           "0700",
		MaxConcurrentPuts: 4,
		MaxConcurrentGets: 32,
		S3:                S3Config{Bucket: "lakehouse-go-primary", Region: "us-east-1"},
	}
}

// Validate checks the backend choice and its settings.
func (s *StorageConfig) Validate() error {
	var errs []error
	switch s.Backend {
	case "local":
	case "s3":
		if s.S3.Endpoint == "" {
			errs = append(errs, errors.New("s3.endpoint: required when backend = \"s3\""))
		}
		if s.S3.Bucket == "" {
			errs = append(errs, errors.New("s3.bucket: required when backend = \"s3\""))
		}
		if strings.Contains(s.S3.Endpoint, "://") {
			errs = append(errs, fmt.Errorf("s3.endpoint: %q must be host:port without a scheme (use use_tls)", s.S3.Endpoint))
		}
	default:
		errs = append(errs, fmt.Errorf("backend: %q is not local or s3", s.Backend))
	}
	if s.PutCap <= 0 {
		errs = append(errs, errors.New("put_cap: must be positive"))
	}
	if s.MaxConcurrentPuts <= 0 || s.MaxConcurrentGets <= 0 {
		errs = append(errs, errors.New("max_concurrent_puts/max_concurrent_gets: must be positive"))
	}
	if m, err := parseMode(s.FileMode); err != nil {
		errs = append(errs, fmt.Errorf("file_mode: %w", err))
	} else if m&0o600 != 0o600 {
		errs = append(errs, fmt.Errorf("file_mode: %q must include owner read and write (0600)", s.FileMode))
	}
	if m, err := parseMode(s.DirMode); err != nil {
		errs = append(errs, fmt.Errorf("dir_mode: %w", err))
	} else if m&0o700 != 0o700 {
		errs = append(errs, fmt.Errorf("dir_mode: %q must include owner read, write and search (0700)", s.DirMode))
	}
	return errors.Join(errs...)
}

// Modes returns the validated FileMode and DirMode; an unset or invalid
// value (Validate reports it) falls back to owner only.
func (s *StorageConfig) Modes() (file, dir fs.FileMode) {
	file, dir = 0o600, 0o700
	if m, err := parseMode(s.FileMode); err == nil && m&0o600 == 0o600 {
		file = m
	}
	if m, err := parseMode(s.DirMode); err == nil && m&0o700 == 0o700 {
		dir = m
	}
	return file, dir
}

func parseMode(s string) (fs.FileMode, error) {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o777 {
		return 0, fmt.Errorf("%q is not an octal permission between 000 and 777", s)
	}
	return fs.FileMode(v), nil
}

// CapFor returns the PUT cap for key: the longest matching prefix cap, or PutCap.
func (s *StorageConfig) CapFor(key string) int64 {
	best, capv := -1, int64(s.PutCap)
	for p, c := range s.PrefixCaps {
		if strings.HasPrefix(key, p) && len(p) > best {
			best, capv = len(p), int64(c)
		}
	}
	return capv
}
