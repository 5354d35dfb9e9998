package imagesig

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Key is one provider's public key. Name identifies it in results and messages (e.g. the VNF provider).
type Key struct {
	Name      string
	PublicKey crypto.PublicKey // *ecdsa.PublicKey, *rsa.PublicKey (PKCS#1 v1.5) or ed25519.PublicKey
	// Keyless asks for Fulcio/Rekor verification instead of a key; it is refused (ErrKeylessUnsupported).
	Keyless *Keyless
}

// Keyless names the signer identity of keyless signatures. Kept so that configuration can express it and be
// refused with a clear error rather than silently ignored.
type Keyless struct {
	Issuer  string
	Subject string
}

// ParsePublicKeyPEM reads a PEM public key (PKIX "PUBLIC KEY", as cosign.pub, or PKCS#1 "RSA PUBLIC KEY").
func ParsePublicKeyPEM(name string, pemBytes []byte) (Key, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		return Key{}, fmt.Errorf("public key %q: %w", name, err)
	}
	return Key{Name: name, PublicKey: pub}, nil
}

// LoadPublicKeyFile reads a PEM public key file; the key is named name (or the path when name is empty).
func LoadPublicKeyFile(name, path string) (Key, error) {
	if name == "" {
		name = path
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("public key %q: %w", name, err)
	}
	return ParsePublicKeyPEM(name, b)
}

// KeySet is an immutable set of keys with their sigstore verifiers loaded once. Its ID (a hash of names and
// keys) keys the result cache, so that a changed key set never reuses a result made with another.
type KeySet struct {
	keys      []Key
	verifiers []signature.Verifier
	names     []string
	id        string
}

// NewKeySet loads a verifier per key (SHA-256 for ECDSA and RSA, as cosign signs). It fails on an unsupported
// key type, a duplicate or empty name, or a keyless entry.
func NewKeySet(keys ...Key) (*KeySet, error) {
	ks := &KeySet{}
	h := sha256.New()
	seen := map[string]bool{}
	for i, k := range keys {
		if k.Name == "" {
			return nil, fmt.Errorf("key %d: empty name", i)
		}
		if seen[k.Name] {
			return nil, fmt.Errorf("key %q: duplicate name", k.Name)
		}
		seen[k.Name] = true
		if k.Keyless != nil {
			return nil, fmt.Errorf("key %q (issuer %q, subject %q): %w", k.Name, k.Keyless.Issuer, k.Keyless.Subject, ErrKeylessUnsupported)
		}
		if k.PublicKey == nil {
			return nil, fmt.Errorf("key %q: no public key", k.Name)
		}
		der, err := x509.MarshalPKIXPublicKey(k.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.Name, err)
		}
		v, err := signature.LoadVerifier(k.PublicKey, crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.Name, err)
		}
		ks.keys = append(ks.keys, k)
		ks.verifiers = append(ks.verifiers, v)
		ks.names = append(ks.names, k.Name)
		fmt.Fprintf(h, "%d:%s%d:", len(k.Name), k.Name, len(der))
		h.Write(der)
	}
	ks.id = hex.EncodeToString(h.Sum(nil))
	return ks, nil
}

// Names returns the key names, in order.
func (ks *KeySet) Names() []string { return append([]string(nil), ks.names...) }

// ID identifies the key set's content.
func (ks *KeySet) ID() string { return ks.id }

// Len is the number of keys.
func (ks *KeySet) Len() int { return len(ks.keys) }

// verify returns the index of the first key whose verifier accepts sig over payload, or -1.
func (ks *KeySet) verify(sig, payload []byte) int {
	for i, v := range ks.verifiers {
		if v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(payload)) == nil {
			return i
		}
	}
	return -1
}
