package render

import (
	"io"
	"strconv"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/ztunnel"
)

// ZtunnelWorkloads writes `ztunnel workloads`: istioctl ztunnel-config's
// columns, and with -o wide the identity, health and owner.
func ZtunnelWorkloads(w io.Writer, rows []ztunnel.WorkloadRow, opts TableOptions) error {
	cols := []string{"NAMESPACE", "POD NAME", "ADDRESS", "NODE", "WAYPOINT", "PROTOCOL"}
	if opts.Wide {
		cols = append(cols, "SERVICE ACCOUNT", "STATUS", "NETWORK", "WORKLOAD", "CANONICAL", "POLICIES")
	}
	t := NewTable(w, opts, cols...)
	for _, r := range rows {
		cells := []string{r.Namespace, r.Name, dash(r.Address), dash(r.Node), r.Waypoint, r.Protocol}
		if opts.Wide {
			cells = append(cells, dash(r.ServiceAccount), dash(r.Status), dash(r.Network), dash(r.Workload), dash(r.Canonical), strconv.Itoa(r.Policies))
		}
		t.Row(cells...)
	}
	return t.Flush()
}

// ZtunnelServices writes `ztunnel services`.
func ZtunnelServices(w io.Writer, rows []ztunnel.ServiceRow, opts TableOptions) error {
	cols := []string{"NAMESPACE", "SERVICE NAME", "SERVICE VIP", "WAYPOINT", "ENDPOINTS"}
	if opts.Wide {
		cols = append(cols, "HOSTNAME", "PORTS", "LOAD BALANCER")
	}
	t := NewTable(w, opts, cols...)
	for _, r := range rows {
		cells := []string{r.Namespace, r.Name, dash(r.VIPs), r.Waypoint, r.Endpoints}
		if opts.Wide {
			cells = append(cells, dash(r.Hostname), dash(r.Ports), dash(r.LoadBalancer))
		}
		t.Row(cells...)
	}
	return t.Flush()
}

// ZtunnelPolicies writes `ztunnel policies`; -o wide adds the rules.
func ZtunnelPolicies(w io.Writer, rows []ztunnel.PolicyRow, opts TableOptions) error {
	cols := []string{"NAMESPACE", "POLICY NAME", "ACTION", "SCOPE"}
	if opts.Wide {
		cols = append(cols, "DRY RUN", "RULES")
	}
	t := NewTable(w, opts, cols...)
	for _, r := range rows {
		cells := []string{r.Namespace, r.Name, r.Action, r.Scope}
		if opts.Wide {
			rules := r.Rules
			if rules == "" {
				rules = "none (matches nothing)"
			}
			cells = append(cells, strconv.FormatBool(r.DryRun), rules)
		}
		t.Row(cells...)
	}
	return t.Flush()
}

// ZtunnelCertificates writes `ztunnel certificates`.
func ZtunnelCertificates(w io.Writer, rows []ztunnel.CertRow, opts TableOptions) error {
	t := NewTable(w, opts, "CERTIFICATE NAME", "TYPE", "STATUS", "VALID CERT", "SERIAL NUMBER", "NOT AFTER", "NOT BEFORE")
	for _, r := range rows {
		t.Row(r.Identity, r.Type, r.State, strconv.FormatBool(r.Valid), r.Serial, r.NotAfter, r.NotBefore)
	}
	return t.Flush()
}

// ZtunnelConnections writes `ztunnel connections`.
func ZtunnelConnections(w io.Writer, rows []ztunnel.ConnectionRow, opts TableOptions) error {
	t := NewTable(w, opts, "WORKLOAD", "DIRECTION", "LOCAL", "REMOTE", "REMOTE TARGET", "PROTOCOL")
	for _, r := range rows {
		t.Row(r.Workload, r.Direction, r.Local, r.Remote, r.RemoteTarget, r.Protocol)
	}
	return t.Flush()
}
