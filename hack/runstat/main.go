// Command runstat runs a command several times and prints the median of
// its wall times, in seconds to the millisecond (-p: other decimals), and
// the median of its peak resident set sizes, in MB: "0.084 42".
// hack/bench.sh times both tools with it (GNU time reports hundredths of a
// second, an eighth of a listing that takes 0.08 s).
//
//	runstat [-n RUNS] [-p DECIMALS] COMMAND [ARG...]
//
// The command's output goes to /dev/null; a command that fails is timed
// all the same (the bench compares tools that may reject an input).
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
	wall, peak, err := measure(*runs, null, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "runstat:", err)
		os.Exit(1)
	}
	fmt.Printf("%.*f %d\n", *prec, wall.Seconds(), peak/1024)
}

// measure runs args runs times, output to out, and returns the median
// wall time and the median peak RSS in kilobytes. A run that exits with
// an error counts; one that cannot start is the error.
func measure(runs int, out *os.File, args []string) (wall time.Duration, peak int64, err error) {
	var walls []time.Duration
	var peaks []int64
	for range runs {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = out, out
		start := time.Now()
		err := cmd.Run()
		wall := time.Since(start)
		if cmd.ProcessState == nil {
			return 0, 0, err
		}
		walls = append(walls, wall)
		peak := int64(0)
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			peak = int64(ru.Maxrss) // kilobytes on Linux
		}
		peaks = append(peaks, peak)
	}
	slices.Sort(walls)
	slices.Sort(peaks)
	return walls[(len(walls)-1)/2], peaks[(len(peaks)-1)/2], nil
}
