// Package markdown renders what operators write (incident updates,
// maintenance descriptions) as safe HTML, for the status page and the
// mails subscribers get.
package markdown

import (
	"bytes"
	"html/template"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// markdown renders what operators write (incident updates, maintenance
// descriptions) with goldmark: CommonMark with autolinks and
// strikethrough, line breaks kept. Raw HTML is never passed through
// (goldmark's default: it is replaced by a comment), and links with a
// dangerous scheme (javascript:, vbscript:, file:, data: other than
// images) lose their address.
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.Linkify, extension.Strikethrough),
	goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(noFollow{}, 100))),
	goldmark.WithRendererOptions(html.WithHardWraps()),
)

// noFollow marks every link rel="nofollow noopener": what operators link
// to earns no ranking from the status page, and gets no handle on it.
type noFollow struct{}

func (noFollow) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering && (n.Kind() == ast.KindLink || n.Kind() == ast.KindAutoLink) {
			n.SetAttributeString("rel", "nofollow noopener")
		}
		return ast.WalkContinue, nil
	})
}

// HTML renders an operator's text as safe HTML; when the text cannot
// be rendered it is escaped as it is.
func HTML(s string) template.HTML {
	var b bytes.Buffer
	if err := markdown.Convert([]byte(s), &b); err != nil {
		return template.HTML(template.HTMLEscapeString(s)) //nolint:gosec // escaped
	}
	return template.HTML(b.String()) //nolint:gosec // goldmark without raw HTML or unsafe links
}
