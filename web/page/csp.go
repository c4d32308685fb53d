package page

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/net/html"
)

// contentSecurityPolicy is the pages' Content-Security-Policy: nothing but
// the page's own stylesheet, script, images and feed, no inline script or
// style but those an operator's template override holds (by the hash of
// their text, so a visitor's input can never add one), and no framing
// but by the ancestors page.frame_ancestors allows ('none' by default).
func contentSecurityPolicy(styleHashes, scriptHashes, frameAncestors []string) string {
	hashes := func(hs []string) string {
		var b strings.Builder
		for _, h := range hs {
			b.WriteString(" 'sha256-" + h + "'")
		}
		return b.String()
	}
	ancestors := "'none'"
	if len(frameAncestors) > 0 {
		ancestors = strings.Join(frameAncestors, " ")
	}
	return "default-src 'none'; script-src 'self'" + hashes(scriptHashes) + "; style-src 'self'" + hashes(styleHashes) +
		"; img-src 'self' data:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors " + ancestors
}

// inlineHashes finds the inline <style> and <script> elements of a page
// and returns the base64 SHA-256 of each one's text, as CSP wants them.
func inlineHashes(page []byte) (styles, scripts []string) {
	z := html.NewTokenizer(bytes.NewReader(page))
	var in string // "style" or "script" while in an inline one
	for {
		switch z.Next() {
		case html.ErrorToken:
			slices.Sort(styles)
			slices.Sort(scripts)
			return slices.Compact(styles), slices.Compact(scripts)
		case html.StartTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			in = ""
			if tag == "style" {
				in = tag
			}
			if tag == "script" {
				in = tag
				for hasAttr {
					var k []byte
					k, _, hasAttr = z.TagAttr()
					if string(k) == "src" {
						in = ""
					}
				}
			}
		case html.TextToken:
			if in == "" {
				continue
			}
			sum := sha256.Sum256(z.Text())
			h := base64.StdEncoding.EncodeToString(sum[:])
			if in == "style" {
				styles = append(styles, h)
			} else {
				scripts = append(scripts, h)
			}
		case html.EndTagToken:
			in = ""
		}
	}
}

// secure sets the pages' security headers on a page's response: its
// Content-Security-Policy and, when the page may be framed by chosen
// sites, no X-Frame-Options (which cannot say which).
func (p *Pages) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rd := p.renderer.Load(); rd != nil {
			h := w.Header()
			h["Content-Security-Policy"] = rd.csp
			if len(rd.settings.FrameAncestors) > 0 {
				h.Del("X-Frame-Options")
			}
		}
		next.ServeHTTP(w, r)
	})
}

// framable serves a page any site may frame (the widget): the pages'
// policy with frame-ancestors *, and no X-Frame-Options.
func (p *Pages) framable(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rd := p.renderer.Load(); rd != nil {
			h := w.Header()
			h["Content-Security-Policy"] = rd.framableCSP
			h.Del("X-Frame-Options")
		}
		next.ServeHTTP(w, r)
	})
}
