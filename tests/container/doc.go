// Package container tests `docker run`: the scratch runtime image
// (Dockerfile.prebuilt, the same stage as Dockerfile's last) built from the
// built binary and run with a volume, as the README tells users to. It
// drives podman with its own storage, runtime settings and network under a
// temp dir, so it depends on no global container state and publishes only
// on 127.0.0.1. `make test-container` (part of `make test`) installs podman
// and runc and runs it; without LAKEHOUSE_BIN, podman or runc it skips.
package container
