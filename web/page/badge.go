package page

import (
	"fmt"
	"html"
	"math"
	"strings"

	"github.com/statusd/statusd/internal/i18n"
	"github.com/statusd/statusd/internal/status"
)

// badgeColors are the shields.io colours of the badge's right half.
var badgeColors = [...]string{
	status.Operational:   "#3fb950",
	status.Degraded:      "#dfb317",
	status.PartialOutage: "#fe7d37",
	status.MajorOutage:   "#e05d44",
}

// Badge draws a shields.io "flat" badge: the service's name on grey, its
// status on the status colour. It is a small SVG template rather than a
// badge library: those measure text with a font rasteriser (megabytes of
// code and font) where a width table of Verdana at 11px, the font shields
// uses, is exact enough for a badge.
func Badge(name string, s status.ServiceStatus, maintenance bool, lang *i18n.Lang) []byte {
	label := strings.ToLower(lang.T("status." + s.String()))
	color := badgeColors[s]
	if maintenance && s == status.Operational {
		label, color = strings.ToLower(lang.T("status.maintenance")), "#0969da"
	}
	lw, rw := textWidth(name)+10, textWidth(label)+10
	w := lw + rw
	n, l := html.EscapeString(name), html.EscapeString(label)
	return fmt.Appendf(nil, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" role="img" aria-label="%s: %s">`+
		`<title>%s: %s</title>`+
		`<linearGradient id="s" x2="0" y2="100%%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>`+
		`<clipPath id="r"><rect width="%d" height="20" rx="3" fill="#fff"/></clipPath>`+
		`<g clip-path="url(#r)"><rect width="%d" height="20" fill="#555"/><rect x="%d" width="%d" height="20" fill="%s"/><rect width="%d" height="20" fill="url(#s)"/></g>`+
		`<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">`+
		`<text x="%.1f" y="15" fill="#010101" fill-opacity=".3">%s</text><text x="%.1f" y="14">%s</text>`+
		`<text x="%.1f" y="15" fill="#010101" fill-opacity=".3">%s</text><text x="%.1f" y="14">%s</text></g></svg>`,
		w, n, l, n, l, w, lw, lw, rw, color, w,
		float64(lw)/2, n, float64(lw)/2, n, float64(lw)+float64(rw)/2, l, float64(lw)+float64(rw)/2, l)
}

// verdana11 are the advance widths of Verdana at 11px, in pixels, of the
// characters badges mostly show; others count as the widest lowercase.
var verdana11 = map[rune]float64{
	' ': 3.87, '-': 4.63, '_': 7, '.': 3.87, '/': 4.63, ':': 4.63, '(': 4.55, ')': 4.55,
	'a': 6.66, 'b': 6.83, 'c': 5.73, 'd': 6.83, 'e': 6.55, 'f': 3.78, 'g': 6.83, 'h': 6.97, 'i': 3.01, 'j': 3.78,
	'k': 6.46, 'l': 3.01, 'm': 10.67, 'n': 6.97, 'o': 6.68, 'p': 6.83, 'q': 6.83, 'r': 4.69, 's': 5.73, 't': 4.33,
	'u': 6.97, 'v': 6.46, 'w': 8.98, 'x': 6.46, 'y': 6.46, 'z': 5.62,
	'A': 7.52, 'B': 7.52, 'C': 7.66, 'D': 8.3, 'E': 6.95, 'F': 6.32, 'G': 8.36, 'H': 8.25, 'I': 5.06, 'J': 5.07,
	'K': 7.61, 'L': 6.16, 'M': 9.28, 'N': 8.23, 'O': 8.63, 'P': 6.63, 'Q': 8.63, 'R': 7.62, 'S': 7.52, 'T': 6.78,
	'U': 8.05, 'V': 7.52, 'W': 10.87, 'X': 7.53, 'Y': 6.77, 'Z': 7.53,
	'0': 7, '1': 7, '2': 7, '3': 7, '4': 7, '5': 7, '6': 7, '7': 7, '8': 7, '9': 7,
}

func textWidth(s string) int {
	var w float64
	for _, r := range s {
		if cw, ok := verdana11[r]; ok {
			w += cw
		} else {
			w += 10.67
		}
	}
	return int(math.Ceil(w))
}
