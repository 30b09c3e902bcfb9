package render

import (
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// Secrets writes one row per secret, described by its certificate. Nothing
// of a private key is ever shown.
func Secrets(w io.Writer, ss []*xds.Secret, now time.Time, opts TableOptions) error {
	cols := []string{"RESOURCE NAME", "TYPE", "STATUS", "VALID CERT", "SERIAL NUMBER", "NOT AFTER", "NOT BEFORE"}
	trustDomains := false
	for _, s := range ss {
		// SPIFFE trust bundles: CA rows per trust domain (a CA from a file or
		// inline has no trust domain of its own).
		trustDomains = trustDomains || (s.Type == "CA" && s.TrustDomain != "")
	}
	if trustDomains {
		cols = append(cols, "TRUST DOMAIN") // as istioctl shows it for SPIRE
	}
	if opts.Wide {
		cols = append(cols, "IDENTITY", "ISSUER", "CERTS", "FILE", "VERSION")
	}
	t := NewTable(w, opts, cols...)
	var ns []note
	for _, s := range ss {
		ns = addNote(ns, note{s.Name, s.State, s.Version, s.LastUpdated, s.Error})
		cells := []string{s.Name, s.Type, string(s.State), strconv.FormatBool(s.Valid(now)), s.Serial, certTime(s.NotAfter), certTime(s.NotBefore)}
		if trustDomains {
			cells = append(cells, dash(s.TrustDomain))
		}
		if opts.Wide {
			cells = append(cells, dash(strings.Join(s.Identity, ",")), dash(s.Issuer), strconv.Itoa(s.Certs), dash(s.File), dash(s.Version))
		}
		t.Row(cells...)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	var problems []string
	for _, s := range ss {
		if s.CertError != "" {
			problems = append(problems, "  secret "+s.Name+": "+s.CertError)
		}
	}
	if len(problems) > 0 {
		if _, err := io.WriteString(w, "\nCertificates not read:\n"+strings.Join(problems, "\n")+"\n"); err != nil {
			return err
		}
	}
	return stateNotes(w, "secret", ns)
}

func certTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
