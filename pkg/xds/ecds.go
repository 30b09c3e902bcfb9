package xds

import "github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"

// ExtensionConfig is a filter config delivered by ECDS (extension config
// discovery): Istio's Wasm plugins and telemetry filters.
type ExtensionConfig struct {
	Name        string
	Type        string // type of the typed_config, "" while none was delivered
	Version     string
	LastUpdated string
	State       envoyadmin.State
	Error       string
	Entry       envoyadmin.Entry
}

// ExtensionConfigs returns the ECDS filter configs, in dump order.
func (c *Config) ExtensionConfigs() []*ExtensionConfig {
	var out []*ExtensionConfig
	for _, e := range c.Dump.Entries(envoyadmin.KindECDS) {
		f := e.Resource.Pick("name", "typed_config")
		x := &ExtensionConfig{Name: f[0].Str(), Version: e.Version, LastUpdated: e.LastUpdated, State: e.State, Error: e.Error, Entry: e}
		if f[1].Exists() {
			x.Type = typedConfig(f[1], &c.Opaque)
		}
		out = append(out, x)
	}
	return out
}
