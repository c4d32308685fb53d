package testsvc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// Chromium starts a headless Chromium (Debian's chromium, or
// STATUSD_TEST_CHROMIUM) for the test and returns a browser context.
func Chromium(t testing.TB) context.Context {
	t.Helper()
	bin := Env("STATUSD_TEST_CHROMIUM", "chromium")
	path, err := exec.LookPath(bin)
	if err != nil {
		Unavailable(t, "Chromium", err, "install Debian's chromium or set STATUSD_TEST_CHROMIUM")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // as root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// This machine has no internet: keep Chromium from calling home.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		Unavailable(t, "Chromium", err, "it did not start")
	}
	return ctx
}

// Artifacts is the folder tests save screenshots and the like in:
// STATUSD_TEST_ARTIFACTS, or a temporary folder kept after the run.
func Artifacts(t testing.TB) string {
	dir := os.Getenv("STATUSD_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "statusd-test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
