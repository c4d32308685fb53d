package admin

import (
	"testing"
	"time"
)

// Every page's template parses: the admin parses them when first shown,
// so this is where a broken one is caught.
func TestTemplatesParse(t *testing.T) {
	pages := lazyTemplates(time.UTC)
	if len(pages) != len(pageNames) {
		t.Fatalf("%d templates for %d pages", len(pages), len(pageNames))
	}
	for _, name := range pageNames {
		tmpl, err := pages[name]()
		if err != nil {
			t.Fatal(err)
		}
		if tmpl.Lookup("layout") == nil {
			t.Errorf("page %s has no layout", name)
		}
	}
}
