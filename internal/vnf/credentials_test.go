package vnf

import "testing"

func TestIsCredentialKey(t *testing.T) {
	credentials := []string{
		// What OpenStack Tacker keeps in accessInfo (and strips since 11.0.0), and older Tacker returned.
		"password", "bearer_token", "client_secret",
		// Other spellings and other VNFMs.
		"bearerToken", "Bearer-Token", "BEARER_TOKEN", "token", "oidc_token", "access_token", "refresh_token", "id_token",
		"secret", "clientSecret", "secret_key", "aws_secret_access_key", "private_key", "ssh_private_key", "privateKey",
		"client_key", "client-key-data", "clientKeyData", "api_key", "apiKey", "signing_key", "passwd", "pwd", "pass",
		"passphrase", "db_password", "credentials", "credential", "authorization", "kubeconfig", "secrets",
	}
	for _, name := range credentials {
		if !IsCredentialKey(name) {
			t.Errorf("IsCredentialKey(%q) = false, want true", name)
		}
	}
	// Public material, and names that only refer to a credential or describe it.
	notCredentials := []string{
		"", "_", "username", "user", "client_id", "clientId", "ssl_ca_cert", "client_certificate", "client_cert",
		"endpoint", "oidc_token_url", "token_url", "tokenEndpoint", "token_expiry", "token_type", "secret_name",
		"secretRef", "password_file", "passwordFile", "project", "projectDomain", "region", "namespace", "vimId",
		"public_key", "public_key_data", "key", "auth_url", "authType", "skipCertificateVerification", "passthrough",
	}
	for _, name := range notCredentials {
		if IsCredentialKey(name) {
			t.Errorf("IsCredentialKey(%q) = true, want false", name)
		}
	}
}
