"""Go's golang.org/x/mod/sumdb/note and sumdb/tlog (Debian's golang-golang-x-mod-dev), built
offline once per session from tests/go/c2spcheck, as an implementation of C2SP that is not ours."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

SOURCE = Path(__file__).parent / "go" / "c2spcheck"
GOCODE = Path("/usr/share/gocode")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


class GoCheck:
    """A Go program that reads one JSON request on stdin and answers one JSON object."""

    def __init__(self, binary: Path) -> None:
        self.binary = binary

    def request(self, request: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        done = subprocess.run([str(self.binary)], input=json.dumps(request), capture_output=True,
                              text=True, timeout=timeout, check=True)
        answer: dict[str, Any] = json.loads(done.stdout)
        return answer

    def __call__(self, op: str, **fields: Any) -> dict[str, Any]:
        return self.request({"op": op, **fields})


def build(tmp: Path, source: Path = SOURCE, package: str = "sumdb/note") -> GoCheck:
    """Build a checker under tests/go/ against Debian's x/mod (skipped locally without Go,
    failed under CI)."""
    go = shutil.which("go")
    if go is None or not (GOCODE / "src/golang.org/x/mod" / package).is_dir():
        message = "Go and golang-golang-x-mod-dev are needed (make tools)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    out = tmp / source.name
    # GOPATH mode over Debian's source tree: no module proxy, no network.
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": str(GOCODE), "GOFLAGS": "",
           "GOPROXY": "off", "GOCACHE": str(tmp / "gocache"), "CGO_ENABLED": "0"}
    subprocess.run([go, "build", "-o", str(out), "."], cwd=source, env=env, check=True,
                   capture_output=True, timeout=300)
    return GoCheck(out)
