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

// BenchmarkMatch is a visitor's Accept-Language, as every request for the
// page without ?lang= or a cookie asks.
func BenchmarkMatch(b *testing.B) {
	c := MustLoad()
	for b.Loop() {
		if l := c.Match("it-IT,it;q=0.9,en-US;q=0.8,en;q=0.7"); l.Code != "it" {
			b.Fatal(l.Code)
		}
	}
}
