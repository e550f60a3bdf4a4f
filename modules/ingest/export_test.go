package ingest

// SetBeforeRegister installs a hook run after the parts are published and
// before the version is registered (for the crash tests).
func SetBeforeRegister(f func()) { beforeRegister = f }
