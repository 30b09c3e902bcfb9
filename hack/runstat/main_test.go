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
	wall, _, err := measure(3, os.Stderr, []string{sh, "-c", script})
	if err != nil {
		t.Fatal(err)
	}
	if wall < 100*time.Millisecond || wall >= 300*time.Millisecond {
		t.Errorf("median of 20, 100 and 300 ms sleeps: %v", wall)
	}
	_, peak, err := measure(1, os.Stderr, []string{sh, "-c", `x=$(head -c 67108864 /dev/zero | tr '\0' a); echo ${#x} >/dev/null`})
	if err != nil {
		t.Fatal(err)
	}
	if peak < 64<<10 {
		t.Errorf("a shell holding 64 MB peaked at %d kB", peak)
	}
	if _, _, err := measure(1, os.Stderr, []string{sh, "-c", "exit 3"}); err != nil {
		t.Errorf("a failing command: %v, want it timed", err)
	}
	if _, _, err := measure(1, os.Stderr, []string{dir + "/missing"}); err == nil {
		t.Error("a command that cannot start: no error")
	}
}
