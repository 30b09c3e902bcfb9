package main

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestMeasureTimesAndSizesTheCommand: the median of runs that sleep 20,
// 100 and 300 ms is the 100 ms one (not the mean of anything), and a command
// that holds 64 MB peaks above it; one that fails is timed, one that
// cannot start is an error.
func TestMeasureTimesAndSizesTheCommand(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	count := dir + "/n"
	script := `n=$(cat ` + count + ` 2>/dev/null || echo 0); n=$((n+1)); echo $n > ` + count + `; case $n in 1) sleep 0.02;; 2) sleep 0.1;; *) sleep 0.3;; esac`
	st, err := measure(3, os.Stderr, []string{sh, "-c", script})
	if err != nil {
		t.Fatal(err)
	}
	if wall := st[0].wall; wall < 100*time.Millisecond || wall >= 300*time.Millisecond {
		t.Errorf("median of 20, 100 and 300 ms sleeps: %v", wall)
	}
	st, err = measure(1, os.Stderr, []string{sh, "-c", `x=$(head -c 67108864 /dev/zero | tr '\0' a); echo ${#x} >/dev/null`})
	if err != nil {
		t.Fatal(err)
	}
	if st[0].peak < 64<<10 {
		t.Errorf("a shell holding 64 MB peaked at %d kB", st[0].peak)
	}
	if _, err := measure(1, os.Stderr, []string{sh, "-c", "exit 3"}); err != nil {
		t.Errorf("a failing command: %v, want it timed", err)
	}
	if _, err := measure(1, os.Stderr, []string{dir + "/missing"}); err == nil {
		t.Error("a command that cannot start: no error")
	}
}

// TestMeasureTakesTurns: two commands run one after the other, the order
// turned round every other round (ABBAAB), each timed on its own.
func TestMeasureTakesTurns(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	log := t.TempDir() + "/log"
	st, err := measure(3, os.Stderr, []string{sh, "-c", "printf A >> " + log}, []string{sh, "-c", "printf B >> " + log + "; sleep 0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(log); string(got) != "ABBAAB" {
		t.Errorf("runs in the order %q, want ABBAAB", got)
	}
	if len(st) != 2 || st[0].wall >= 100*time.Millisecond || st[1].wall < 100*time.Millisecond {
		t.Errorf("stats %+v: want A's under 100 ms, B's over", st)
	}
}
