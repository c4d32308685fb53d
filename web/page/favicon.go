package page

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
)

// FaviconStates are the favicon's states: the worst status of the
// services, or "default" when there are none.
var FaviconStates = []string{"default", "operational", "degraded", "partial_outage", "major_outage"}

// faviconColors are the built-in icons' colours, as the page's light
// palette.
var faviconColors = map[string]color.RGBA{
	"default":        {0x8c, 0x95, 0x9f, 0xff},
	"operational":    {0x1a, 0x7f, 0x37, 0xff},
	"degraded":       {0xd2, 0x99, 0x22, 0xff},
	"partial_outage": {0xbc, 0x4c, 0x00, 0xff},
	"major_outage":   {0xcf, 0x22, 0x2e, 0xff},
}

// icon is one favicon: as linked from pages, and as /favicon.ico.
type icon struct {
	page, ico *asset
}

// loadFavicons builds the icons: the built-in ones, drawn here, replaced
// by the files an operator names (state → path). A state the operator
// gave no file for takes the operator's default icon when there is one
// (as django-statusboard does), the built-in one otherwise.
func loadFavicons(files map[string]string) (map[string]*icon, error) {
	out := map[string]*icon{}
	for _, state := range FaviconStates { // "default" first
		if files[state] == "" && state != "default" && files["default"] != "" {
			out[state] = out["default"]
			continue
		}
		if path := files[state]; path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("page.favicons.%s: %w", state, err)
			}
			out[state] = fileIcon(path, b)
			continue
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, disc(faviconColors[state], 32)); err != nil {
			return nil, err
		}
		out[state] = &icon{page: newAsset(buf.Bytes(), "image/png"), ico: newAsset(wrapICO(buf.Bytes(), 32), "image/x-icon")}
	}
	return out, nil
}

// iconTypes are the content types of icon files by extension.
var iconTypes = map[string]string{".ico": "image/x-icon", ".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif"}

// fileIcon is an operator's icon file, typed by its extension; a PNG is
// wrapped for /favicon.ico, other types are served there as they are.
func fileIcon(path string, b []byte) *icon {
	ctype := iconTypes[strings.ToLower(filepath.Ext(path))]
	ic := &icon{page: newAsset(b, ctype), ico: newAsset(b, ctype)}
	if ctype == "image/png" {
		if cfg, err := png.DecodeConfig(bytes.NewReader(b)); err == nil && cfg.Width <= 256 && cfg.Height <= 256 {
			ic.ico = newAsset(wrapICO(b, cfg.Width), "image/x-icon")
		}
	}
	return ic
}

// disc draws a filled, anti-aliased disc of colour c on a transparent
// square of size pixels, with a white ring that keeps it visible on dark
// tab bars.
func disc(c color.RGBA, size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const samples = 4 // per axis, for anti-aliasing
	r := float64(size) / 2
	for y := range size {
		for x := range size {
			var in, ring int
			for sy := range samples {
				for sx := range samples {
					dx := float64(x) + (float64(sx)+0.5)/samples - r
					dy := float64(y) + (float64(sy)+0.5)/samples - r
					d2 := dx*dx + dy*dy
					switch {
					case d2 <= (r-2.5)*(r-2.5):
						in++
					case d2 <= (r-0.5)*(r-0.5):
						ring++
					}
				}
			}
			total := in + ring
			if total == 0 {
				continue
			}
			// Blend the disc's colour and the ring's white by coverage.
			mix := func(v uint8) uint8 { return uint8((int(v)*in + 255*ring) / total) }
			img.SetNRGBA(x, y, color.NRGBA{mix(c.R), mix(c.G), mix(c.B), uint8(255 * total / (samples * samples))})
		}
	}
	return img
}

// wrapICO wraps a PNG in an ICO container (one image), which every
// browser reads as /favicon.ico.
func wrapICO(pngData []byte, size int) []byte {
	dim := byte(size)
	if size >= 256 {
		dim = 0 // 0 means 256
	}
	le := binary.LittleEndian
	b := make([]byte, 0, 6+16+len(pngData))
	b = le.AppendUint16(le.AppendUint16(le.AppendUint16(b, 0), 1), 1)   // reserved, type icon, one image
	b = append(b, dim, dim, 0, 0)                                       // width, height, palette, reserved
	b = le.AppendUint16(le.AppendUint16(b, 1), 32)                      // planes, bits per pixel
	b = le.AppendUint32(le.AppendUint32(b, uint32(len(pngData))), 6+16) // size, offset
	return append(b, pngData...)
}
