// tilecheck reads a directory written by `minhbach publish tiles` with Go's
// golang.org/x/mod/sumdb/tlog (an implementation that is not ours): it maps each tile Go asks
// for to its C2SP tlog-tiles path (Go's sumdb paths carry the height, "tile/8/L/N"; C2SP's do
// not), lets tlog check every tile against the checkpoint's root, and proves and checks the
// inclusion of every leaf and the consistency of every older size.
//
// Request on stdin: {"dir": "...", "size": n, "root": "<base64>", "leaves": ["<base64>", ...]}.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

type request struct {
	Dir    string   `json:"dir"`
	Size   int64    `json:"size"`
	Root   string   `json:"root"`
	Leaves []string `json:"leaves"`
}

type answer struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

type files struct {
	dir string
}

func (f *files) Height() int { return 8 }

func (f *files) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		p := "tile/" + strings.TrimPrefix(t.Path(), "tile/8/")
		data, err := os.ReadFile(filepath.Join(f.dir, p))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (f *files) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func run(req request) error {
	raw, err := base64.StdEncoding.DecodeString(req.Root)
	if err != nil || len(raw) != tlog.HashSize {
		return fmt.Errorf("bad root")
	}
	var root tlog.Hash
	copy(root[:], raw)
	tree := tlog.Tree{N: req.Size, Hash: root}
	reader := tlog.TileHashReader(tree, &files{dir: req.Dir})
	if h, err := tlog.TreeHash(req.Size, reader); err != nil || h != root {
		return fmt.Errorf("tree hash: %v", err)
	}
	for i, leaf := range req.Leaves {
		data, err := base64.StdEncoding.DecodeString(leaf)
		if err != nil {
			return err
		}
		n := int64(i)
		p, err := tlog.ProveRecord(req.Size, n, reader)
		if err != nil {
			return fmt.Errorf("prove record %d: %v", n, err)
		}
		if err := tlog.CheckRecord(p, req.Size, root, n, tlog.RecordHash(data)); err != nil {
			return fmt.Errorf("check record %d: %v", n, err)
		}
		if n == 0 {
			continue
		}
		old, err := tlog.TreeHash(n, reader)
		if err != nil {
			return fmt.Errorf("tree hash %d: %v", n, err)
		}
		tp, err := tlog.ProveTree(req.Size, n, reader)
		if err != nil {
			return fmt.Errorf("prove tree %d: %v", n, err)
		}
		if err := tlog.CheckTree(tp, req.Size, root, n, old); err != nil {
			return fmt.Errorf("check tree %d: %v", n, err)
		}
	}
	return nil
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ans := answer{OK: true}
	if err := run(req); err != nil {
		ans = answer{OK: false, Error: err.Error()}
	}
	_ = json.NewEncoder(os.Stdout).Encode(ans)
}
