// Package alerts holds statusd's Prometheus rules (statusd.rules.yml) and
// their unit tests (tests/), run here with promtool.
package alerts_test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/statusd/statusd/internal/testsvc"
)

func TestRulesWithPromtool(t *testing.T) {
	promtool := testsvc.Binary(t, "promtool", "prometheus")
	tests, err := filepath.Glob("tests/*.yml")
	if err != nil || len(tests) == 0 {
		t.Fatalf("no rule tests: %v", err)
	}
	for _, args := range [][]string{
		{"check", "rules", "statusd.rules.yml"},
		append([]string{"test", "rules"}, tests...),
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
