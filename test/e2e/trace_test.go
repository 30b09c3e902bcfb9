//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"
)

// TestTraceFollowsTheRequestIntoTheDestinationPod traces from a client pod
// whose sidecar holds real Pilot-generated config (from the Istio
// simulation dataset): the outbound hop picks the cluster's healthy
// endpoint, the API server names the pod with that IP, and its inbound
// side is traced over Istio mTLS to the application port.
func TestTraceFollowsTheRequestIntoTheDestinationPod(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, _, k, _ := startWithKubelet(t, ctx)
	// The dataset's proxy is backend itself (1.2.3.4), whose outbound
	// cluster for backend has that one endpoint: client and destination
	// serve the same config, as two replicas would.
	dump, err := os.ReadFile("../../../shared/fixtures/istio-simulation/TestInboundClusters/single_service__multiple_instance/config_dump.json")
	if err != nil {
		t.Fatal(err)
	}
	startAdmin(t, "127.0.1.30:15000", dump, nil)
	startAdmin(t, "127.0.1.31:15000", dump, nil)
	if _, err := k.RunPod(ctx, "default", "client", "127.0.1.30", "192.0.2.30", map[string]string{"app": "client"}, "app", "istio-proxy"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.RunPod(ctx, "default", "backend-1", "127.0.1.31", "1.2.3.4", map[string]string{"app": "backend"}, "app", "istio-proxy"); err != nil {
		t.Fatal(err)
	}
	_, mesh := meshRunner(t, ctx, s)
	out, errOut, code := mesh("trace", "--from", "client", "http://backend.default.svc.cluster.local/", "--address", "10.0.0.99", "-o", "json")
	if code != 0 {
		t.Fatalf("trace: exit %d: %s\n%s", code, errOut, out)
	}
	var doc struct {
		Hops []struct {
			Proxy, Direction, Listener, FilterChain, Cluster, Result string
		} `json:"hops"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Hops) != 2 {
		t.Fatalf("%d hops, want the client's outbound and backend-1's inbound:\n%s", len(doc.Hops), out)
	}
	in := doc.Hops[1]
	if doc.Hops[0].Cluster != "outbound|80||backend.default.svc.cluster.local" || in.Proxy != "backend-1.default" || in.Direction != "inbound" ||
		in.Listener != "virtualInbound" || in.Cluster != "inbound|8080||" || in.Result != "forwarded" {
		t.Errorf("hops: %+v", doc.Hops)
	}
	// --to-pod names the destination.
	out, _, _ = mesh("trace", "--from", "client", "http://backend.default.svc.cluster.local/", "--address", "10.0.0.99", "--to-pod", "default/backend-1", "-o", "json")
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Hops) != 2 || doc.Hops[1].Proxy != "backend-1.default" {
		t.Errorf("--to-pod: %v %+v", err, doc.Hops)
	}
}
