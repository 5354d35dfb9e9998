package policy

import (
	"bufio"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vnfguard/vnfguard/internal/payload"
)

// naiveTokens is what payload itself tests before it tries its expressions: strings.Contains for each token.
func naiveTokens(s string) bool {
	for _, p := range payload.Patterns() {
		if strings.Contains(s, p.Token) {
			return true
		}
	}
	return false
}

// TestPayloadTokens: the check's one-pass token scan says exactly what payload's own token test says, on every
// line of payload's testdata (reverse shells and benign entrypoints), on every piece of those lines, and on random
// strings made of token fragments; so skipping payload for a string without a token changes no verdict.
func TestPayloadTokens(t *testing.T) {
	var texts []string
	files, _ := filepath.Glob(filepath.Join("..", "payload", "testdata", "*.txt"))
	if len(files) == 0 {
		t.Fatal("no payload testdata")
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			texts = append(texts, sc.Text())
		}
		f.Close()
	}
	var pieces []string
	for _, text := range texts {
		for i := range len(text) {
			for j := i; j <= len(text) && j <= i+12; j++ {
				pieces = append(pieces, text[i:j])
			}
		}
		pieces = append(pieces, strings.Fields(text)...)
	}
	var frags []string
	for _, p := range payload.Patterns() {
		for i := range len(p.Token) + 1 {
			frags = append(frags, p.Token[:i], p.Token[i:])
		}
	}
	frags = append(frags, " ", "/", "-", "x", "\x00", "é", "\xff")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(6) {
			b.WriteString(frags[rng.IntN(len(frags))])
		}
		pieces = append(pieces, b.String())
	}
	caught := 0
	for _, s := range append(texts, pieces...) {
		got, want := payloadTokens.in(s), naiveTokens(s)
		if got != want {
			t.Fatalf("token scan of %q: %v, payload's own test %v", s, got, want)
		}
		if want {
			caught++
		}
	}
	if caught == 0 {
		t.Fatal("no string held a token: the test proves nothing")
	}
	if payloadTokens.inAny(nil) || !payloadTokens.inAny([]string{"x", "/bin/sh -c nc -e sh"}) {
		t.Fatal("inAny")
	}
}

// TestTokenSetShortTokens: tokens of fewer than two bytes, which the pair table cannot hold, are found too.
func TestTokenSetShortTokens(t *testing.T) {
	ts := newTokenSet([]payload.Pattern{{Token: "q"}, {Token: "ab"}})
	for s, want := range map[string]bool{"": false, "q": true, "xqx": true, "ab": true, "a": false, "ba": false, "xab": true} {
		if got := ts.in(s); got != want {
			t.Errorf("%q: %v, want %v", s, got, want)
		}
	}
	if !newTokenSet([]payload.Pattern{{Token: ""}}).in("") {
		t.Error("an empty token is in every string")
	}
}
