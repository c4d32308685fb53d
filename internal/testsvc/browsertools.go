package testsvc

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// BrowserTools is tools/browser's node_modules (axe-core and Lighthouse,
// installed by `npm ci --prefix tools/browser`), or STATUSD_TEST_BROWSER_TOOLS.
func BrowserTools(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("STATUSD_TEST_BROWSER_TOOLS")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "tools", "browser", "node_modules")
	}
	if _, err := os.Stat(filepath.Join(dir, "axe-core", "axe.min.js")); err != nil {
		Unavailable(t, "axe-core and Lighthouse", err, "run npm ci --prefix tools/browser")
	}
	return dir
}
