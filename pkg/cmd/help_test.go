package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// TestEveryCommandIsDocumented walks the command tree: every command has a
// one-line and a long description and examples; every example parses (the
// command exists, its flags exist and take the values given, the arguments
// fit), and every example that reads a file shipped in the repository runs
// and succeeds, so the help cannot drift from the code.
func TestEveryCommandIsDocumented(t *testing.T) {
	root := NewRootCmdWith(Deps{IOStreams: genericiooptions.NewTestIOStreamsDiscard()})
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.Hidden || c.Name() == "help" || (c.Parent() != nil && c.Parent().Name() == "completion") {
			return // cobra's own: help and the per-shell scripts
		}
		path := c.CommandPath()
		if c.Short == "" || c.Long == "" || c.Example == "" {
			t.Errorf("%s: Short, Long and Example are all needed", path)
		}
		if c.Parent() == root && c.GroupID == "" {
			t.Errorf("%s: in no group of kubectl mesh --help", path)
		}
		examples := 0
		for _, line := range strings.Split(c.Example, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "kubectl mesh ") {
				continue
			}
			examples++
			checkExample(t, line)
		}
		if examples == 0 {
			t.Errorf("%s: no example runs kubectl mesh", path)
		}
	}
	walk(root)
}

// checkExample parses one example line and, if it reads only files shipped
// in the repository, runs it.
func checkExample(t *testing.T, line string) {
	t.Helper()
	words, err := shellWords(line)
	if err != nil {
		t.Errorf("%s: %v", line, err)
		return
	}
	args := words[2:]
	for i, w := range args { // stop at a redirection or a pipe
		if w == ">" || w == "|" {
			args = args[:i]
			break
		}
	}
	root := NewRootCmdWith(Deps{IOStreams: genericiooptions.NewTestIOStreamsDiscard(), Now: func() time.Time { return testNow }})
	c, rest, err := root.Find(args)
	if err != nil || c == root {
		t.Errorf("%s: no such command (%v)", line, err)
		return
	}
	if err := c.ParseFlags(rest); err != nil {
		t.Errorf("%s: %v", line, err)
		return
	}
	if err := c.ValidateArgs(c.Flags().Args()); err != nil {
		t.Errorf("%s: %v", line, err)
		return
	}
	file, _ := c.Flags().GetString("filename")
	if file == "" {
		return // live: parsing is all a test without a cluster can do
	}
	if _, err := os.Stat(filepath.Join("../..", file)); err != nil {
		t.Errorf("%s: reads %s, which the repository does not ship", line, file)
		return
	}
	for i, a := range args {
		if strings.HasPrefix(a, "examples/") {
			args[i] = filepath.Join("../..", a)
		}
	}
	out, errOut, err := run(t, "", args...)
	if err != nil || out == "" {
		t.Errorf("%s: %v\n%s%s", line, err, out, errOut)
	}
}

// shellWords splits a command line as a POSIX shell would for the quoting
// examples use: single and double quotes, no expansions.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case ' ', '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case '\'', '"':
			end := strings.IndexByte(s[i+1:], ch)
			if end < 0 {
				return nil, &unclosedQuote{s}
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

type unclosedQuote struct{ line string }

func (e *unclosedQuote) Error() string { return "unclosed quote in " + e.line }
