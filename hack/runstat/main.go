// Command runstat runs a command several times and prints the median of
// its wall times, in seconds to the millisecond (-p: other decimals), and
// the median of its peak resident set sizes, in MB: "0.084 42".
// hack/bench.sh times both tools with it (GNU time reports hundredths of a
// second, an eighth of a listing that takes 0.08 s).
//
//	runstat [-n RUNS] [-p DECIMALS] COMMAND [ARG...] [--- COMMAND [ARG...]]...
//
// Several commands (separated by ---) are run in turns, one run of each a
// round, the order turned round every other round, and a line printed for
// each: a host that is slower for a few seconds (a shared machine) slows
// the runs of all of them, not those of whichever ran then, so their
// ratio holds. The commands' output goes to /dev/null; a command that
// fails is timed all the same (the bench compares tools that may reject
// an input).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"
)

func main() {
	runs := flag.Int("n", 5, "how many times to run the command")
	prec := flag.Int("p", 3, "decimals of the seconds printed")
	flag.Parse()
	if flag.NArg() == 0 || *runs < 1 {
		fmt.Fprintln(os.Stderr, "usage: runstat [-n RUNS] [-p DECIMALS] COMMAND [ARG...]")
		os.Exit(2)
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "runstat:", err)
		os.Exit(1)
	}
	var cmds [][]string
	args := flag.Args()
	for {
		i := slices.Index(args, "---")
		if i < 0 {
			cmds = append(cmds, args)
			break
		}
		cmds, args = append(cmds, args[:i]), args[i+1:]
	}
	for _, c := range cmds {
		if len(c) == 0 {
			fmt.Fprintln(os.Stderr, "runstat: no command before or after ---")
			os.Exit(2)
		}
	}
	stats, err := measure(*runs, null, cmds...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "runstat:", err)
		os.Exit(1)
	}
	for _, st := range stats {
		fmt.Printf("%.*f %d\n", *prec, st.wall.Seconds(), st.peak/1024)
	}
}

// stat is the median wall time and the median peak RSS in kilobytes of a
// command's runs.
type stat struct {
	wall time.Duration
	peak int64
}

// measure runs each of cmds runs times, in turns, output to out, and
// returns their stats. A run that exits with an error counts; one that
// cannot start is the error.
func measure(runs int, out *os.File, cmds ...[]string) ([]stat, error) {
	walls := make([][]time.Duration, len(cmds))
	peaks := make([][]int64, len(cmds))
	for r := range runs {
		for k := range cmds {
			if r%2 == 1 {
				k = len(cmds) - 1 - k // the other way round
			}
			args := cmds[k]
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Stdout, cmd.Stderr = out, out
			start := time.Now()
			err := cmd.Run()
			wall := time.Since(start)
			if cmd.ProcessState == nil {
				return nil, err
			}
			walls[k] = append(walls[k], wall)
			peak := int64(0)
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
				peak = int64(ru.Maxrss) // kilobytes on Linux
			}
			peaks[k] = append(peaks[k], peak)
		}
	}
	stats := make([]stat, len(cmds))
	for k := range cmds {
		slices.Sort(walls[k])
		slices.Sort(peaks[k])
		stats[k] = stat{wall: walls[k][(runs-1)/2], peak: peaks[k][(runs-1)/2]}
	}
	return stats, nil
}
