package cmd

import (
	"flag"
	"os"
	"regexp"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's command outputs (make docs)")

// readmeRun marks a command in README.md whose output follows it:
//
//	<!-- run: kubectl mesh listeners -f examples/istio-sidecar.json -->
//	```console
//	$ kubectl mesh listeners -f examples/istio-sidecar.json
//	...its standard output...
//	```
var readmeRun = regexp.MustCompile("(?s)<!-- run: (kubectl mesh [^\n]*?) -->\n```console\n.*?```\n")

// TestReadmeShowsRealOutput runs every command the README shows (on files
// the repository ships, with the tests' clock) and checks the output printed
// under it is what the command prints today. "make docs" rewrites them.
func TestReadmeShowsRealOutput(t *testing.T) {
	// Commands run from the repository's top, as the README shows them.
	t.Chdir("../..")
	const path = "README.md"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	got := readmeRun.ReplaceAllStringFunc(string(readme), func(block string) string {
		runs++
		line := readmeRun.FindStringSubmatch(block)[1]
		words, err := shellWords(line)
		if err != nil {
			t.Fatal(err)
		}
		args := words[2:]
		out, errOut, err := run(t, "", args...)
		if err != nil && ExitCode(err) != ExitNegative {
			t.Errorf("%s: %v\n%s", line, err, errOut)
		}
		return "<!-- run: " + line + " -->\n```console\n$ " + line + "\n" + out + "```\n"
	})
	if runs < 8 {
		t.Errorf("the README shows %d commands with their output; every inspect command should be there", runs)
	}
	if got == string(readme) {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md shows outputs the commands no longer print: run \"make docs\" and review the diff")
}
