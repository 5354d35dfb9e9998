package vnfmtest

import (
	"crypto/rand"
	"encoding/hex"
	"maps"
)

// The VIM credentials the server holds. Instantiate gives every instance a Kubernetes VIM connection whose
// accessInfo has the shape OpenStack Tacker builds for a VIM with OpenID Connect (tacker/sol_refactored/common/
// vim_utils.py): oidc_token_url, username and client_id, which are not secret, and password and client_secret,
// which are. The server answers the way Tacker 11 does: it removes password, bearer_token and client_secret from
// accessInfo in every VnfInstance it returns (tacker/sol_refactored/controller/vnflcm_view.py, "see SOL003
// 4.4.1.6"), keeping the other keys; with Options.DiscloseAccessInfo (or SetDiscloseAccessInfo) it returns them
// as older Tacker did with bearer_token. The secret values are random per server (VIMSecrets), so that a test can
// look for them in whatever vnfguard produced. Instances stored with PutRaw are served verbatim.

// tackerStrips are the accessInfo keys Tacker 11 removes from the VnfInstances it returns.
var tackerStrips = []string{"password", "bearer_token", "client_secret"}

// vimAccessInfo is the accessInfo of an instance's VIM connection, under mu.
func (s *Server) vimAccessInfo() map[string]string {
	if s.vimSecrets == nil {
		s.vimSecrets = []string{"vim-password-" + randomHex(), "vim-client-secret-" + randomHex()}
	}
	return map[string]string{
		"oidc_token_url": "https://127.0.0.1:8443/realms/k8s/protocol/openid-connect/token",
		"username":       "end-user",
		"password":       s.vimSecrets[0],
		"client_id":      "tacker",
		"client_secret":  s.vimSecrets[1],
	}
}

// VIMSecrets are the secret values of the VIM connections the server's instances carry (none before the first
// Instantiate).
func (s *Server) VIMSecrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.vimSecrets...)
}

// SetDiscloseAccessInfo changes Options.DiscloseAccessInfo from now on: a VNFM upgraded (false) or misconfigured
// (true) while vnfguard watches it.
func (s *Server) SetDiscloseAccessInfo(disclose bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.DiscloseAccessInfo = disclose
}

// served is the instance as the server returns it, under mu: without the credentials Tacker 11 strips unless
// the server discloses them. It never modifies inst.
func (s *Server) served(inst *Instance) *Instance {
	if s.opts.DiscloseAccessInfo || len(inst.VimConnectionInfo) == 0 {
		return inst
	}
	c := *inst
	c.VimConnectionInfo = make(map[string]VimConnectionInfo, len(inst.VimConnectionInfo))
	for id, vim := range inst.VimConnectionInfo {
		if vim.AccessInfo != nil {
			vim.AccessInfo = maps.Clone(vim.AccessInfo)
			for _, k := range tackerStrips {
				delete(vim.AccessInfo, k)
			}
		}
		c.VimConnectionInfo[id] = vim
	}
	return &c
}

func randomHex() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
