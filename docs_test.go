package stevedore_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDocsStandAlone: the repository's docs and comments send no reader to
// a file outside it, and the package overview links the semantics page,
// which exists and has every section the comments cite.
func TestDocsStandAlone(t *testing.T) {
	outside := regexp.MustCompile(`ECS-SEMANTICS|\.\./shared|DESIGN\.md|STYLE\.md`)
	cited := map[string]bool{}
	section := regexp.MustCompile(`§(\d+(?:\.\d+)?)`)
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".md")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if path == "docs_test.go" {
			return nil
		}
		if loc := outside.FindIndex(b); loc != nil {
			t.Errorf("%s refers to a file outside the repository: %q", path, b[loc[0]:loc[1]])
		}
		if strings.HasSuffix(path, ".go") {
			for _, m := range section.FindAllStringSubmatch(string(b), -1) {
				cited[m[1]] = true
			}
		}
		return nil
	})
	require.NoError(t, err)
	page, err := os.ReadFile("docs/semantics.md")
	require.NoError(t, err)
	for s := range cited {
		assert.Regexp(t, `(?m)^#+ `+regexp.QuoteMeta(s)+`[ .]`, string(page), "docs/semantics.md has the section §%s the code cites", s)
	}
	doc, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	assert.Contains(t, string(doc), "https://github.com/stevedore-go/stevedore/blob/main/docs/semantics.md", "the package overview links the semantics page")
}
