// c2spcheck cross-checks our C2SP encodings against Go's golang.org/x/mod/sumdb/note and
// sumdb/tlog (an implementation that is not ours) and, for what x/mod 0.7 doesn't know
// (cosignature/v1, signature type 0x04), against crypto/ed25519 and the tlog-cosignature spec.
//
// It reads one JSON request on stdin and writes one JSON answer on stdout.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type request struct {
	Op      string   `json:"op"`
	Note    string   `json:"note"`  // a signed note (open, cosig)
	Vkeys   []string `json:"vkeys"` // verifier keys (open)
	Skey    string   `json:"skey"`  // a signer key (sign)
	Text    string   `json:"text"`  // a note text (sign)
	Size    int64    `json:"size"`  // tree size (tree, consistency)
	Root    string   `json:"root"`  // base64 root (tree, consistency)
	Old     int64    `json:"old"`   // old tree size (consistency)
	OldRoot string   `json:"old_root"`
	Proof   []string `json:"proof"`  // base64 hashes (consistency)
	Name    string   `json:"name"`   // cosigner name (cosig)
	Public  string   `json:"public"` // base64 cosigner public key (cosig)
}

type answer struct {
	OK        bool     `json:"ok"`
	Error     string   `json:"error,omitempty"`
	Text      string   `json:"text,omitempty"`
	Verified  []string `json:"verified,omitempty"`
	Unknown   []string `json:"unknown,omitempty"`
	Note      string   `json:"note,omitempty"`
	Size      int64    `json:"size,omitempty"`
	Root      string   `json:"root,omitempty"`
	Timestamp uint64   `json:"timestamp,omitempty"`
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fail(err)
	}
	var ans answer
	var err error
	switch req.Op {
	case "open":
		ans, err = open(req)
	case "sign":
		ans, err = sign(req)
	case "tree":
		ans, err = tree(req)
	case "consistency":
		ans, err = consistency(req)
	case "cosig":
		ans, err = cosig(req)
	default:
		err = fmt.Errorf("unknown op %q", req.Op)
	}
	if err != nil {
		ans = answer{Error: err.Error()}
	} else {
		ans.OK = true
	}
	_ = json.NewEncoder(os.Stdout).Encode(ans)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(2)
}

func open(req request) (answer, error) {
	var vs []note.Verifier
	for _, k := range req.Vkeys {
		v, err := note.NewVerifier(k)
		if err != nil {
			return answer{}, err
		}
		vs = append(vs, v)
	}
	n, err := note.Open([]byte(req.Note), note.VerifierList(vs...))
	if err != nil {
		return answer{}, err
	}
	ans := answer{Text: n.Text}
	for _, s := range n.Sigs {
		ans.Verified = append(ans.Verified, s.Name)
	}
	for _, s := range n.UnverifiedSigs {
		ans.Unknown = append(ans.Unknown, s.Name)
	}
	// A checkpoint under the go.sum origin is also read by tlog.ParseTree.
	if strings.HasPrefix(n.Text, "go.sum database tree\n") {
		t, err := tlog.ParseTree([]byte(n.Text))
		if err != nil {
			return answer{}, err
		}
		ans.Size, ans.Root = t.N, base64.StdEncoding.EncodeToString(t.Hash[:])
	}
	return ans, nil
}

func sign(req request) (answer, error) {
	s, err := note.NewSigner(req.Skey)
	if err != nil {
		return answer{}, err
	}
	msg, err := note.Sign(&note.Note{Text: req.Text}, s)
	if err != nil {
		return answer{}, err
	}
	return answer{Note: string(msg)}, nil
}

func hash(b64 string) (tlog.Hash, error) {
	var h tlog.Hash
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != len(h) {
		return h, fmt.Errorf("bad hash %q", b64)
	}
	copy(h[:], raw)
	return h, nil
}

func tree(req request) (answer, error) {
	h, err := hash(req.Root)
	if err != nil {
		return answer{}, err
	}
	return answer{Text: string(tlog.FormatTree(tlog.Tree{N: req.Size, Hash: h}))}, nil
}

func consistency(req request) (answer, error) {
	h, err := hash(req.Root)
	if err != nil {
		return answer{}, err
	}
	h0, err := hash(req.OldRoot)
	if err != nil {
		return answer{}, err
	}
	var p tlog.TreeProof
	for _, s := range req.Proof {
		x, err := hash(s)
		if err != nil {
			return answer{}, err
		}
		p = append(p, x)
	}
	if err := tlog.CheckTree(p, req.Size, h, req.Old, h0); err != nil {
		return answer{}, err
	}
	return answer{}, nil
}

// cosig verifies every cosignature/v1 line by (name, public) in a note, from the spec:
// key id = SHA-256(name || 0x0A || 0x04 || key)[:4]; signature = u64 timestamp || Ed25519 over
// "cosignature/v1\ntime <t>\n" || note text.
func cosig(req request) (answer, error) {
	pub, err := base64.StdEncoding.DecodeString(req.Public)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return answer{}, fmt.Errorf("bad public key")
	}
	msg := req.Note
	cut := strings.LastIndex(msg, "\n\n")
	if cut < 0 {
		return answer{}, fmt.Errorf("no signature block")
	}
	text, sigs := msg[:cut+1], msg[cut+2:]
	kid := sha256.Sum256(append(append([]byte(req.Name+"\n"), 0x04), pub...))
	found := uint64(0)
	for _, line := range strings.Split(strings.TrimSuffix(sigs, "\n"), "\n") {
		parts := strings.Split(strings.TrimPrefix(line, "\u2014 "), " ")
		if len(parts) != 2 || parts[0] != req.Name {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(parts[1])
		if err != nil || len(raw) < 4 || !bytes.Equal(raw[:4], kid[:4]) {
			continue
		}
		if len(raw) != 4+8+ed25519.SignatureSize {
			return answer{}, fmt.Errorf("bad cosignature length")
		}
		ts := binary.BigEndian.Uint64(raw[4:12])
		signed := "cosignature/v1\ntime " + strconv.FormatUint(ts, 10) + "\n" + text
		if !ed25519.Verify(ed25519.PublicKey(pub), []byte(signed), raw[12:]) {
			return answer{}, fmt.Errorf("cosignature by %s does not verify", req.Name)
		}
		found = ts
	}
	if found == 0 {
		return answer{}, fmt.Errorf("no cosignature by %s", req.Name)
	}
	return answer{Timestamp: found}, nil
}
