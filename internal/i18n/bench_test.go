package i18n

import (
	"testing"
	"time"
)

// BenchmarkT is one catalogue text with a value, as the page's uptime
// bars ask for thousands of them per render.
func BenchmarkT(b *testing.B) {
	l, _ := MustLoad().Get("it")
	for b.Loop() {
		_ = l.T("uptime.day", "Date", "1 dic 2026", "Percent", "99,5%", "Status", "operativo")
	}
}

func BenchmarkShortDay(b *testing.B) {
	l, _ := MustLoad().Get("it")
	t := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		_ = l.ShortDay(t)
	}
}
