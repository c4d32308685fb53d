package threshold

import (
	"math"
	"strings"
	"testing"
)

func TestEval(t *testing.T) {
	cases := []struct {
		expr string
		v    float64
		want bool
	}{
		{"value > 100", 100, false},
		{"value > 100", 100.5, true},
		{"value >= 86400", 86400, true},
		{"value >= 86400", 86399, false},
		{"value < 0.5", 0.25, true},
		{"value <= -1", -1, true},
		{"value == 3", 3, true},
		{"value != 3", 3, false},
		{"10 < value", 11, true},
		{"10 < value", 10, false},
		{"2 >= value", 2, true},
		{"value < 10 or value > 100", 50, false},
		{"value < 10 or value > 100", 5, true},
		{"value < 10 || value > 100", 500, true},
		{"value > 1 and value < 3", 2, true},
		{"value > 1 && value < 3", 3, false},
		{"value > 1 and value < 3 or value == 10", 10, true}, // and binds tighter
		{"value > 1 and (value < 3 or value == 10)", 0, false},
		{"(value > 5)", 6, true},
		{"VALUE > 1e3", 1001, true},
		{"value > 1.5e-3", 0.002, true},
		{"value > 1", math.NaN(), false},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			e, err := Parse(c.expr)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := e.Eval(c.v); got != c.want {
				t.Errorf("Eval(%v) = %v, want %v", c.v, got, c.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ expr, want string }{
		{"", "empty condition"},
		{"   ", "empty condition"},
		{"value", "column 6: expected a comparison"},
		{"value >", "expected a number, found end of condition"},
		{"value >> 2", "column 8: expected a number"},
		{"value = 2", "expected a comparison"},
		{"value > abc", "expected a number, found \"abc\""},
		{"value > 2 foo", "unexpected \"foo\""},
		{"value > 2 and", "expected \"value\", a number or \"(\""},
		{"(value > 2", "expected \")\""},
		{"2 > 3", "expected \"value\", found \"3\""},
		{"value > 1e", "invalid number \"1e\""},
		{"value > 2 & value < 3", "unexpected \"&\""},
		{"age > 2", "expected \"value\""},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			_, err := Parse(c.expr)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want error containing %q", c.expr, c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestTextRoundTrip(t *testing.T) {
	var e Expr
	if err := e.UnmarshalText([]byte(" value >= 3 ")); err != nil {
		t.Fatal(err)
	}
	b, _ := e.MarshalText()
	if string(b) != "value >= 3" {
		t.Errorf("MarshalText = %q", b)
	}
	if err := e.UnmarshalText([]byte("value >")); err == nil {
		t.Error("UnmarshalText accepted a broken condition")
	}
}

// FuzzParse checks that no input panics and that what parses re-parses from
// its own text with the same meaning.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"value > 2", "value < 10 or value > 100", "(value >= 1e3) && 5 != value", "value >", "((", "-1 <= value"} {
		f.Add(s, 1.5)
	}
	f.Fuzz(func(t *testing.T, s string, v float64) {
		e, err := Parse(s)
		if err != nil {
			if e != nil {
				t.Fatal("error with a non-nil expression")
			}
			return
		}
		again, err := Parse(e.String())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", e.String(), err)
		}
		if e.Eval(v) != again.Eval(v) {
			t.Fatalf("%q evaluates differently after re-parse", s)
		}
	})
}
