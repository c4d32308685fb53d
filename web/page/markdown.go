package page

import (
	"html/template"

	"github.com/statusd/statusd/internal/markdown"
)

// Markdown renders an operator's text as safe HTML (internal/markdown).
func Markdown(s string) template.HTML { return markdown.HTML(s) }
