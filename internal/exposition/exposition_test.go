package exposition

import (
	"bytes"
	"math"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/statusd/statusd/internal/testsvc"
)

// Label values that need escaping, and values that need spelling, come
// back as they went in once parsed.
func TestWriterRoundTrip(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	w.Family("statusd_test_value", "gauge", "A test family, with a \\ and a\nnewline in its help.")
	evil := "a \"quoted\" back\\slash\nand a newline"
	values := []float64{0, -1.5, 1e21, math.Inf(1), math.Inf(-1)}
	for i, v := range values {
		w.Sample("statusd_test_value", NewLabels("check", evil, "resource", string(rune('a'+i))), v)
	}
	w.Family("statusd_test_total", "counter", "A counter.")
	w.Sample("statusd_test_total", "", 3)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	mfs := testsvc.ParseMetrics(t, b.String())
	g := mfs["statusd_test_value"]
	if g == nil || g.GetType() != dto.MetricType_GAUGE || len(g.Metric) != len(values) || g.GetHelp() != "A test family, with a \\ and a\nnewline in its help." {
		t.Fatalf("gauge family: %v", g)
	}
	for i, m := range g.Metric {
		if m.Label[0].GetName() != "check" || m.Label[0].GetValue() != evil || m.GetGauge().GetValue() != values[i] {
			t.Errorf("sample %d: %v", i, m)
		}
	}
	if c := mfs["statusd_test_total"]; c == nil || c.GetType() != dto.MetricType_COUNTER || c.Metric[0].GetCounter().GetValue() != 3 {
		t.Errorf("counter family: %v", c)
	}
}

func TestNaN(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	w.Sample("x", NewLabels("a", "b"), math.NaN())
	_ = w.Flush()
	if b.String() != "x{a=\"b\"} NaN\n" {
		t.Errorf("%q", b.String())
	}
}
