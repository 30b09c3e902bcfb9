package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/snapshot"
)

// DumpSource gives a command the dump of one proxy. kinds says which
// resources the command shows, so that a live source fetches only those.
type DumpSource interface {
	Dump(ctx context.Context, kinds ...envoyadmin.Kind) (*envoyadmin.Dump, error)
	// Evict says the command has decoded what it shows: memory held only
	// to read the dump may be let go (it is read again if needed).
	Evict()
	// Close releases what the source holds (mapped files, tunnels).
	Close()
}

// fileSource reads a saved dump: a file, or standard input for "-".
type fileSource struct {
	path string
	pod  string // which proxy, when the file holds several
	// anyPod takes a file of one unnamed proxy as that proxy whatever --pod
	// says: in a diff, --pod names the proxy in the other file.
	anyPod bool
	in     io.Reader
	input  *envoyadmin.Input
	// early reads a kind while the file is loaded (see envoyadmin.Early).
	early envoyadmin.Early
}

func (s *fileSource) Dump(_ context.Context, kinds ...envoyadmin.Kind) (*envoyadmin.Dump, error) {
	input, err := envoyadmin.ReadFile(s.path, s.in)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("cannot read %s: no such file", s.path)}
		}
		return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("cannot read %s: %v", s.path, err)}
	}
	s.input = input
	if snapshot.IsBundle(input.Data) {
		return s.fromBundle(input.Data, kinds)
	}
	input.Early = s.early
	dumps, err := envoyadmin.LoadInput(input)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name(), err)
	}
	return s.pick(dumps)
}

// fromBundle reads the proxy chosen by --pod from a snapshot bundle: the
// file a live read of kinds would have fetched (/clusters?format=json for
// endpoint health, else the config dump), so a snapshot answers as the
// pod did.
func (s *fileSource) fromBundle(data []byte, kinds []envoyadmin.Kind) (*envoyadmin.Dump, error) {
	b, err := snapshot.Read(data)
	if err != nil {
		return nil, usageError("%s: %v", s.name(), err)
	}
	p, err := b.Proxy(s.pod)
	if err != nil {
		return nil, usageError("%s: %v", s.name(), err)
	}
	file := snapshot.ConfigDump
	if strings.HasPrefix(envoyadmin.ConfigDumpPath(kinds), "/clusters") {
		file = snapshot.Clusters
	}
	content, ok := b.File(p.Dir() + "/" + file)
	if !ok {
		return nil, usageError("%s: the snapshot has no %s of %s (%s)", s.name(), file, p.Name(), bundleErrors(p))
	}
	dumps, err := envoyadmin.Load(content)
	if err != nil {
		return nil, fmt.Errorf("%s: %s of %s: %w", s.name(), file, p.Name(), err)
	}
	dumps[0].Name = p.Name()
	return dumps[0], nil
}

func bundleErrors(p snapshot.Proxy) string {
	if len(p.Errors) == 0 {
		return "nothing was recorded"
	}
	var parts []string
	for f, e := range p.Errors {
		parts = append(parts, f+": "+e)
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

func (s *fileSource) name() string {
	if s.path == "-" {
		return "standard input"
	}
	return s.path
}

// pick chooses the proxy named by --pod among the dumps of a bundle.
func (s *fileSource) pick(dumps []*envoyadmin.Dump) (*envoyadmin.Dump, error) {
	if len(dumps) == 1 && (s.pod == "" || (dumps[0].Name == "" && s.anyPod)) {
		return dumps[0], nil
	}
	if len(dumps) == 1 && dumps[0].Name == "" {
		return nil, usageError("%s holds the config of one proxy, which it does not name: --pod %q names none (leave --pod out)", s.name(), s.pod)
	}
	if s.pod == "" {
		return nil, usageError("%s holds the config of %d proxies (%s): choose one with --pod", s.name(), len(dumps), names(dumps))
	}
	for _, d := range dumps {
		if d.Name == s.pod || strings.HasSuffix(d.Name, "/"+s.pod) {
			return d, nil
		}
	}
	return nil, usageError("%s has no proxy %q; it holds %s", s.name(), s.pod, names(dumps))
}

func names(dumps []*envoyadmin.Dump) string {
	var ns []string
	for _, d := range dumps {
		n := d.Name
		if n == "" {
			n = "(unnamed)"
		}
		ns = append(ns, n)
	}
	return strings.Join(ns, ", ")
}

// Evict hands the file's pages back: the model holds what it decoded, and
// what is read again (raw bytes for -o json) comes back from the page cache.
func (s *fileSource) Evict() {
	if s.input != nil {
		s.input.Evict(0, len(s.input.Data))
	}
}

// Close has nothing to release: a mapped file stays mapped for the life of
// the process (see envoyadmin.Input), so what the model decoded from it
// stays readable whatever outlives the source.
func (s *fileSource) Close() {}
