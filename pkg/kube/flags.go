package kube

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/homedir"
)

// Flags are kubectl's standard kube flags (--kubeconfig, --context, -n,
// --as, --server, ...), bound to client-go's clientcmd as kubectl binds
// them, with kubectl's discovery cache (~/.kube/cache) for the REST
// mapping. They replace cli-runtime's ConfigFlags: that package links
// the resource builder and kustomize into every start of the plugin (about
// 10 MB of resident memory and their package initialisation), for a
// builder this plugin needs only to read one TYPE/NAME (see Finder).
type Flags struct {
	KubeConfig, CacheDir                   string
	CertFile, KeyFile, CAFile, BearerToken string
	Impersonate, ImpersonateUID            string
	ImpersonateGroup, ImpersonateUserExtra []string
	ClusterName, AuthInfoName, Context     string
	Namespace, APIServer, TLSServerName    string
	Insecure, DisableCompression           bool
	Timeout, ProxyURL                      string
	once                                   sync.Once
	loader                                 clientcmd.ClientConfig
	mapperOnce                             sync.Once
	mapper                                 meta.RESTMapper
	mapperErr                              error
}

// NewFlags returns the flags with kubectl's defaults.
func NewFlags() *Flags {
	return &Flags{CacheDir: defaultCacheDir(), Timeout: "0"}
}

// AddFlags registers the flags under kubectl's names.
func (f *Flags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.KubeConfig, "kubeconfig", f.KubeConfig, "Path to the kubeconfig file to use for CLI requests.")
	fs.StringVar(&f.CacheDir, "cache-dir", f.CacheDir, "Default cache directory")
	fs.StringVar(&f.CertFile, "client-certificate", f.CertFile, "Path to a client certificate file for TLS")
	fs.StringVar(&f.KeyFile, "client-key", f.KeyFile, "Path to a client key file for TLS")
	fs.StringVar(&f.BearerToken, "token", f.BearerToken, "Bearer token for authentication to the API server")
	fs.StringVar(&f.Impersonate, "as", f.Impersonate, "Username to impersonate for the operation. User could be a regular user or a service account in a namespace.")
	fs.StringVar(&f.ImpersonateUID, "as-uid", f.ImpersonateUID, "UID to impersonate for the operation.")
	fs.StringArrayVar(&f.ImpersonateGroup, "as-group", f.ImpersonateGroup, "Group to impersonate for the operation, this flag can be repeated to specify multiple groups.")
	fs.StringArrayVar(&f.ImpersonateUserExtra, "as-user-extra", f.ImpersonateUserExtra, "User extras to impersonate for the operation, this flag can be repeated to specify multiple values for the same key.")
	fs.StringVar(&f.ClusterName, "cluster", f.ClusterName, "The name of the kubeconfig cluster to use")
	fs.StringVar(&f.AuthInfoName, "user", f.AuthInfoName, "The name of the kubeconfig user to use")
	fs.StringVarP(&f.Namespace, "namespace", "n", f.Namespace, "If present, the namespace scope for this CLI request")
	fs.StringVar(&f.Context, "context", f.Context, "The name of the kubeconfig context to use")
	fs.StringVarP(&f.APIServer, "server", "s", f.APIServer, "The address and port of the Kubernetes API server")
	fs.StringVar(&f.TLSServerName, "tls-server-name", f.TLSServerName, "Server name to use for server certificate validation. If it is not provided, the hostname used to contact the server is used")
	fs.BoolVar(&f.Insecure, "insecure-skip-tls-verify", f.Insecure, "If true, the server's certificate will not be checked for validity. This will make your HTTPS connections insecure")
	fs.StringVar(&f.CAFile, "certificate-authority", f.CAFile, "Path to a cert file for the certificate authority")
	fs.StringVar(&f.Timeout, "request-timeout", f.Timeout, "The length of time to wait before giving up on a single server request. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). A value of zero means don't timeout requests.")
	fs.BoolVar(&f.DisableCompression, "disable-compression", f.DisableCompression, "If true, opt-out of response compression for all requests to the server")
	fs.StringVar(&f.ProxyURL, "proxy-url", f.ProxyURL, "Proxy URL to use for requests to the API server")
}

// ToRawKubeConfigLoader is the kubeconfig as loaded with the flags'
// overrides, built once.
func (f *Flags) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	f.once.Do(func() {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.DefaultClientConfig = &clientcmd.DefaultClientConfig
		rules.ExplicitPath = f.KubeConfig
		o := &clientcmd.ConfigOverrides{ClusterDefaults: clientcmd.ClusterDefaults}
		// As kubectl: a flag given on the command line overrides the
		// kubeconfig; an empty one leaves it.
		o.AuthInfo.ClientCertificate, o.AuthInfo.ClientKey = f.CertFile, f.KeyFile
		o.AuthInfo.Token = f.BearerToken
		o.AuthInfo.Impersonate, o.AuthInfo.ImpersonateUID = f.Impersonate, f.ImpersonateUID
		o.AuthInfo.ImpersonateGroups = f.ImpersonateGroup
		if len(f.ImpersonateUserExtra) > 0 {
			extra := map[string][]string{}
			for _, kv := range f.ImpersonateUserExtra {
				if k, v, ok := strings.Cut(kv, "="); ok {
					extra[k] = append(extra[k], v)
				}
			}
			o.AuthInfo.ImpersonateUserExtra = extra
		}
		o.ClusterInfo.Server, o.ClusterInfo.TLSServerName = f.APIServer, f.TLSServerName
		o.ClusterInfo.CertificateAuthority = f.CAFile
		o.ClusterInfo.InsecureSkipTLSVerify = f.Insecure
		o.ClusterInfo.DisableCompression = f.DisableCompression
		o.ClusterInfo.ProxyURL = f.ProxyURL
		o.CurrentContext = f.Context
		o.Context.Cluster, o.Context.AuthInfo, o.Context.Namespace = f.ClusterName, f.AuthInfoName, f.Namespace
		o.Timeout = f.Timeout
		f.loader = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, o)
	})
	return f.loader
}

// ToRESTConfig is the client configuration the flags and kubeconfig give.
func (f *Flags) ToRESTConfig() (*rest.Config, error) {
	return f.ToRawKubeConfigLoader().ClientConfig()
}

// ToRESTMapper maps resource and kind names, with kubectl's short names
// (deploy, svc, sts, ...), as the API server's discovery says: read from
// kubectl's discovery cache (six hours, under --cache-dir) when kubectl
// has filled it, else from the server, and from the server again for a
// type the cache does not know.
func (f *Flags) ToRESTMapper() (meta.RESTMapper, error) {
	f.mapperOnce.Do(func() {
		cfg, err := f.ToRESTConfig()
		if err != nil {
			f.mapperErr = err
			return
		}
		dir := f.CacheDir
		if dir == "" {
			dir = defaultCacheDir()
		}
		f.mapper = &discoveryMapper{cfg: cfg, cacheDir: discoveryCacheDir(filepath.Join(dir, "discovery"), cfg.Host)}
	})
	return f.mapper, f.mapperErr
}

// defaultCacheDir is kubectl's: $KUBECACHEDIR, else ~/.kube/cache.
func defaultCacheDir() string {
	if d := os.Getenv("KUBECACHEDIR"); d != "" {
		return d
	}
	return filepath.Join(homedir.HomeDir(), ".kube", "cache")
}

var unsafeFileChars = regexp.MustCompile(`[^(\w/.)]`)

// discoveryCacheDir is kubectl's directory for one API server's discovery
// cache, so both share it.
func discoveryCacheDir(parent, host string) string {
	host = strings.Replace(strings.Replace(host, "https://", "", 1), "http://", "", 1)
	return filepath.Join(parent, unsafeFileChars.ReplaceAllString(host, "_"))
}
