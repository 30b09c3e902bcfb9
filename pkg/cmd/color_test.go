package cmd

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// runOnTerminal runs kubectl mesh as if standard output were a terminal.
func runOnTerminal(t *testing.T, args ...string) string {
	t.Helper()
	return runOnTerminalWidth(t, 0, args...)
}

// runOnTerminalWidth runs kubectl mesh on a terminal width columns wide (0:
// unknown, tables not fitted).
func runOnTerminalWidth(t *testing.T, width int, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	root := NewRootCmdWith(Deps{IOStreams: streams, Now: func() time.Time { return testNow },
		IsTerminal: func(io.Writer) bool { return true }, TerminalWidth: func(io.Writer) int { return width }})
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestColourOnlyOnATerminal(t *testing.T) {
	// A secret warming and expired certificates: yellow WARMING, red false.
	args := []string{"secrets", "-f", fixture("istio/istioctl-golden/secret/istio/config_dump.json")}
	coloured := runOnTerminal(t, args...)
	if !strings.Contains(coloured, colorYellowForTest+"WARMING") || !strings.Contains(coloured, colorRedForTest+"false") {
		t.Errorf("no colour on a terminal:\n%q", coloured)
	}
	plain, _, err := run(t, "", args...)
	if err != nil {
		t.Fatal(err)
	}
	if ansi.MatchString(plain) {
		t.Errorf("colour when not on a terminal:\n%q", plain)
	}
	// Colour must not move the columns: every coloured column carries the
	// same number of invisible bytes, so without them the table is the plain one.
	if got := ansi.ReplaceAllString(coloured, ""); got != plain {
		t.Errorf("colour changed the layout:\ncoloured, escapes removed:\n%s\nplain:\n%s", got, plain)
	}

	if out := runOnTerminal(t, append(args, "--no-color")...); ansi.MatchString(out) {
		t.Errorf("colour despite --no-color:\n%q", out)
	}
	t.Setenv("NO_COLOR", "1")
	if out := runOnTerminal(t, args...); ansi.MatchString(out) {
		t.Errorf("colour despite NO_COLOR:\n%q", out)
	}
	t.Setenv("NO_COLOR", "")
	if out := runOnTerminal(t, append(args, "-o", "json")...); ansi.MatchString(out) {
		t.Errorf("colour in JSON:\n%q", out)
	}
}

const (
	colorYellowForTest = "\x1b[33m"
	colorRedForTest    = "\x1b[31m"
)

// TestNoColourOnADumbTerminal: TERM=dumb means no escapes, on a terminal too.
func TestNoColourOnADumbTerminal(t *testing.T) {
	t.Setenv("TERM", "dumb")
	if out := runOnTerminal(t, "secrets", "-f", fixture("istio/istioctl-golden/secret/istio/config_dump.json")); ansi.MatchString(out) {
		t.Errorf("colour with TERM=dumb:\n%q", out)
	}
}

// TestInformationalNotesOnlyWithV: the count of typed configs kept opaque
// is information, shown with -v only.
func TestInformationalNotesOnlyWithV(t *testing.T) {
	_, quiet, _ := run(t, "", "listeners", "-f", "../../examples/istio-sidecar.json")
	_, loud, _ := run(t, "", "listeners", "-f", "../../examples/istio-sidecar.json", "-v", "1")
	if strings.Contains(quiet, "kept opaque") || !strings.Contains(loud, "kept opaque") {
		t.Errorf("without -v: %q; with -v 1: %q", quiet, loud)
	}
}
