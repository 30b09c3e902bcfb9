package xds

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// Secret is an SDS secret, described by its certificate. Key material is
// never read into the model: only certificate chains and trusted CAs are.
type Secret struct {
	Name        string
	State       envoyadmin.State
	Version     string
	LastUpdated string
	Error       string
	Type        string // "Cert Chain", "CA", "Session Ticket Keys", "Generic", ""
	// From the first certificate of the chain (or the CA bundle).
	Serial    string
	NotBefore time.Time
	NotAfter  time.Time
	Identity  []string // URI SANs (SPIFFE IDs) and DNS SANs
	Issuer    string
	Certs     int // certificates in the chain or bundle
	// TrustDomain is the SPIFFE trust domain of the certificate: the one a
	// trust bundle of a SPIFFE validator is for, or the workload
	// certificate's own.
	TrustDomain string
	// File is where a certificate is read from on the proxy, when it is not
	// inline (Istio 1.0 to 1.4 mounted them at /etc/certs).
	File string
	// CertError says why the certificate could not be read, if it could not.
	CertError string
	Entry     envoyadmin.Entry
}

// Valid reports whether the certificate is within its validity period at now.
func (s *Secret) Valid(now time.Time) bool {
	return !s.NotAfter.IsZero() && now.After(s.NotBefore) && now.Before(s.NotAfter)
}

// decodeSecrets reads an SDS secret: one row, or for a SPIFFE validator one
// CA row per trust domain, as istioctl shows SPIRE's trust bundles.
func decodeSecrets(e envoyadmin.Entry) []*Secret {
	s := decodeSecret(e)
	tds := e.Resource.Get("validation_context", "custom_validator_config", "typed_config", "trust_domains")
	if !tds.Exists() || tds.Empty() {
		return []*Secret{s}
	}
	var out []*Secret
	_ = tds.Items(func(_ int, td jsonscan.Value) bool {
		b := *s
		b.Type, b.TrustDomain, b.Identity, b.CertError, b.Certs, b.File = "CA", td.Get("name").Str(), nil, "", 0, ""
		pemBytes, err := dataSource(td.Get("trust_bundle"))
		switch {
		case err != nil:
			b.File, b.CertError = td.Get("trust_bundle", "filename").Str(), err.Error()
		case len(pemBytes) > 0:
			b.readCerts(pemBytes)
		}
		out = append(out, &b)
		return true
	})
	return out
}

func decodeSecret(e envoyadmin.Entry) *Secret {
	r := e.Resource
	s := &Secret{Name: e.Name, State: e.State, Version: e.Version, LastUpdated: e.LastUpdated, Error: e.Error, Entry: e}
	if n := r.Get("name").Str(); n != "" && s.Name == "" {
		s.Name = n
	}
	var data jsonscan.Value
	switch {
	case r.Get("tls_certificate").Exists():
		s.Type = "Cert Chain"
		data = r.Get("tls_certificate", "certificate_chain")
	case r.Get("validation_context").Exists():
		s.Type = "CA"
		data = r.Get("validation_context", "trusted_ca")
	case r.Get("session_ticket_keys").Exists():
		s.Type = "Session Ticket Keys"
		return s
	case r.Get("generic_secret").Exists():
		s.Type = "Generic"
		return s
	default:
		return s
	}
	pemBytes, err := dataSource(data)
	if err != nil {
		s.File, s.CertError = data.Get("filename").Str(), err.Error()
		return s
	}
	if len(pemBytes) == 0 {
		return s
	}
	s.readCerts(pemBytes)
	return s
}

// dataSource reads an inline DataSource. Files and environment variables
// live on the proxy's machine and cannot be read from a dump.
func dataSource(d jsonscan.Value) ([]byte, error) {
	if b := d.Get("inline_bytes"); b.Exists() {
		raw, err := base64.StdEncoding.DecodeString(b.Str())
		if err != nil {
			return nil, fmt.Errorf("inline_bytes is not base64: %v", err)
		}
		return raw, nil
	}
	if s := d.Get("inline_string"); s.Exists() {
		return []byte(s.Str()), nil
	}
	if f := d.Get("filename").Str(); f != "" {
		return nil, fmt.Errorf("certificate is in file %s on the proxy", f)
	}
	return nil, nil
}

func (s *Secret) readCerts(data []byte) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue // never look at keys
		}
		s.Certs++
		if s.Certs > 1 {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			s.CertError = "certificate does not parse: " + err.Error()
			continue
		}
		s.Serial = hex.EncodeToString(cert.SerialNumber.Bytes()) // whole bytes, as istioctl and openssl print it
		s.NotBefore, s.NotAfter = cert.NotBefore.UTC(), cert.NotAfter.UTC()
		s.Issuer = cert.Issuer.String()
		for _, u := range cert.URIs {
			s.Identity = append(s.Identity, u.String())
			if u.Scheme == "spiffe" && s.TrustDomain == "" {
				s.TrustDomain = u.Host
			}
		}
		s.Identity = append(s.Identity, cert.DNSNames...)
	}
	if s.Certs == 0 && s.CertError == "" {
		s.CertError = "no PEM certificate in the data"
	}
}
