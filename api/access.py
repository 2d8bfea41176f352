"""Which paths need a bearer token: one rule for the middleware that checks tokens before a body
is read, for the `?after=` wait (anonymous callers get less of it) and for `no-store` headers."""

from __future__ import annotations

API = "/api/v1"
# Under /api/v1, these answer anyone; every other /api/v1 path needs a token. Outside /api/v1 (the
# web pages, /healthz, /metrics, the docs) nothing does.
PUBLIC_API = tuple(API + p for p in (
    "/public", "/areas", "/funds", "/categories",
    "/audit/tree-head", "/audit/tree-heads", "/audit/proofs", "/audit/public-key",
    # Witnesses: the checkpoint, who counts, and their cosignatures (the signature is the
    # credential: POST /audit/cosignatures keeps only configured witnesses' that verify).
    "/audit/checkpoint", "/audit/witnesses", "/audit/cosignatures",
))
# Public search: the costly query any stranger can run, rate-limited per client.
# Where the limits middleware leaves the caller it has authenticated before reading a body
# (in scope["state"]), so that the route's dependency does not look the token up again.
PRINCIPAL_STATE = "minhbach.principal"
PUBLIC_SEARCH = frozenset({API + "/public/donations", "/donations", "/donations.csv"})


def needs_token(path: str) -> bool:
    if path != API and not path.startswith(API + "/"):
        return False
    # Whole segments only: /api/v1/fundsX is not /api/v1/funds.
    return not any(path == p or path.startswith(p + "/") for p in PUBLIC_API)
