package vnf

import "strings"

// The one definition of a credential-bearing field name, for what a VNFM returns about a VIM connection
// (vimConnectionInfo.*.accessInfo, interfaceInfo, extra). SOL003 4.4.1.6 says a VNFM must not return the
// credentials it holds for a VIM; OpenStack Tacker 11 strips password, bearer_token and client_secret from
// accessInfo, while older Tacker (Zed) returned bearer_token, and other VNFMs use other names (client_key, token,
// private_key, a whole kubeconfig). Whoever reads the VNFM's API with such a field gets the keys to the cluster.
//
// A name is compared in lower case without '_', '-', '.' and spaces, so bearer_token, bearerToken and Bearer-Token
// are one name. It is a credential when it is one of credentialNames, or ends with one of credentialSuffixes: the
// suffix rule catches client_secret, oidc_token, refresh_token, ssh_private_key or db_password, and leaves alone
// the names that only refer to a credential or describe it (oidc_token_url, secret_name, password_file,
// token_expiry), which end otherwise. Public material is not a credential: username, client_id, ssl_ca_cert,
// client_certificate.
var (
	credentialNames    = []string{"pwd", "pass", "authorization", "kubeconfig", "secrets"}
	credentialSuffixes = []string{
		"password", "passwd", "passphrase",
		"secret", "secretkey", "secretaccesskey",
		"token",
		"privatekey", "clientkey", "clientkeydata", "apikey", "signingkey",
		"credential", "credentials",
	}
)

// IsCredentialKey reports whether a field of this name carries a credential (a password, token, secret or private
// key) by its name alone; the caller decides whether a value is present.
func IsCredentialKey(name string) bool {
	n := normalizeKey(name)
	if n == "" {
		return false
	}
	for _, c := range credentialNames {
		if n == c {
			return true
		}
	}
	for _, s := range credentialSuffixes {
		if strings.HasSuffix(n, s) {
			return true
		}
	}
	return false
}

// normalizeKey lowers a field name and drops the separators naming conventions differ by.
func normalizeKey(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		switch r {
		case '_', '-', '.', ' ':
			continue
		}
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
