package stevedore_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// block returns the body of the first fenced block of the given language
// after the heading in markdown.
func block(t *testing.T, markdown, heading, lang string) string {
	t.Helper()
	_, after, ok := strings.Cut(markdown, "\n"+heading+"\n")
	require.True(t, ok, "README has a section %q", heading)
	_, body, ok := strings.Cut(after, "```"+lang+"\n")
	require.True(t, ok, "the section has a %s block", lang)
	body, _, ok = strings.Cut(body, "```")
	require.True(t, ok, "the %s block ends", lang)
	return body
}

// TestReadmeLibrarySnippet builds and runs the README's library program, as
// a module of its own that requires this one, and checks it prints what
// the README says it prints.
func TestReadmeLibrarySnippet(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	program := block(t, string(readme), "## Use it as a library", "go")
	want := block(t, string(readme), "## Use it as a library", "text")

	repo, err := filepath.Abs(".")
	require.NoError(t, err)
	dir := t.TempDir()
	gomod := "module readme\n\ngo 1.26.0\n\nrequire github.com/stevedore-go/stevedore v0.0.0\n\nreplace github.com/stevedore-go/stevedore => " + repo + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(program), 0o644))
	cmd := exec.CommandContext(t.Context(), "go", "run", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go run of the README's program:\n%s", out)
	assert.Equal(t, want, string(out))
}
