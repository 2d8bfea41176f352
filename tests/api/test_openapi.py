"""The published OpenAPI describes the endpoints that really exist (DESIGN §7)."""

from __future__ import annotations

from fastapi.testclient import TestClient

EXPECTED = {
    ("post", "/api/v1/donors"), ("post", "/api/v1/donors/{donor_id}/erase"),
    ("post", "/api/v1/pledges"), ("post", "/api/v1/receipts"),
    ("post", "/api/v1/allocations"), ("post", "/api/v1/distributions"),
    ("post", "/api/v1/reversals"), ("post", "/api/v1/children"), ("post", "/api/v1/needs"),
    ("post", "/api/v1/children/{child_id}/erase"), ("post", "/api/v1/children/{child_id}/merge"),
    ("post", "/api/v1/donors/{donor_id}/corrections"), ("post", "/api/v1/children/{child_id}/corrections"),
    ("post", "/api/v1/needs/{need_id}/corrections"),
    ("get", "/api/v1/children"), ("get", "/api/v1/children/duplicates"),
    ("get", "/api/v1/areas"), ("get", "/api/v1/funds"), ("get", "/api/v1/categories"),
    ("get", "/api/v1/balances/funds"), ("get", "/api/v1/balances/programmes"),
    ("get", "/api/v1/balances/stock"),
    ("get", "/api/v1/donors/{donor_id}"), ("get", "/api/v1/children/{child_id}/history"),
    ("get", "/api/v1/public/summary"), ("get", "/api/v1/public/donations"),
    ("get", "/api/v1/public/donations/{reference}"), ("get", "/api/v1/public/needs"),
    ("get", "/api/v1/public/donations/by-bank-reference/{bank_reference}"),
    ("get", "/api/v1/public/export"),
    ("get", "/api/v1/public/open-data/iati.xml"), ("get", "/api/v1/public/open-data/360giving.json"),
    ("get", "/api/v1/public/open-data/360giving.csv"),
    ("get", "/healthz"), ("get", "/readyz"), ("get", "/metrics"),
    ("get", "/api/v1/audit/events"), ("get", "/api/v1/audit/balances"), ("get", "/api/v1/audit/tree-head"),
    ("get", "/api/v1/audit/tree-heads"), ("get", "/api/v1/audit/public-key"),
    ("get", "/api/v1/audit/checkpoint"), ("get", "/api/v1/audit/witnesses"),
    ("post", "/api/v1/audit/cosignatures"),
    ("get", "/api/v1/audit/proofs/inclusion"), ("get", "/api/v1/audit/proofs/consistency"),
    ("post", "/api/v1/bank-accounts"), ("get", "/api/v1/bank-accounts"),
    ("post", "/api/v1/bank-accounts/{code}/statements"), ("get", "/api/v1/bank-accounts/{code}/lines"),
    ("post", "/api/v1/matches"), ("post", "/api/v1/matches/{match_id}/undo"),
    ("get", "/api/v1/reconciliation"), ("get", "/api/v1/pledges/{pledge_id}/vietqr"),
    ("get", "/api/v1/seasons"), ("post", "/api/v1/seasons"), ("post", "/api/v1/seasons/{code}/close"),
    ("get", "/api/v1/public/seasons/{code}"),
    ("post", "/api/v1/children/{child_id}/transfer"),
    ("get", "/api/v1/partners"), ("post", "/api/v1/partners"), ("get", "/api/v1/reports/mobilisation"),
    ("get", "/api/v1/reports/recognition"), ("get", "/api/v1/reports/pledges"),
    ("get", "/api/v1/proposals"), ("post", "/api/v1/proposals/{proposal_id}/approve"),
    ("post", "/api/v1/proposals/{proposal_id}/reject"),
}


def test_openapi_lists_every_endpoint_with_its_problems(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    published = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert published == EXPECTED
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if path.startswith("/api/v1"):
                problem = op["responses"]["422"]["content"]
                assert "application/problem+json" in problem, (method, path)
            if method == "post":
                assert "201" in op["responses"], path
                names = {p["name"] for p in op.get("parameters", [])}
                # A cosignature is its own idempotency key: the same line sent again stores nothing.
                assert "Idempotency-Key" in names or path == "/api/v1/audit/cosignatures", path


def test_four_eyes_answers_and_problems_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/allocations", "/api/v1/reversals"):
        proposed = paths[path]["post"]["responses"]["202"]["content"]["application/json"]["schema"]
        assert proposed == {"$ref": "#/components/schemas/ProposalCreated"}
    responses = paths["/api/v1/proposals/{proposal_id}/approve"]["post"]["responses"]
    assert "same_person" in responses["403"]["description"]
    assert "already_decided" in responses["409"]["description"]


def test_every_route_answers_as_documented(client: TestClient) -> None:
    # A real request to each documented public path: nothing documented is missing.
    for path in ("/api/v1/areas", "/api/v1/funds", "/api/v1/categories", "/api/v1/public/summary",
                 "/api/v1/public/donations", "/api/v1/public/needs", "/healthz", "/metrics"):
        assert client.get(path).status_code == 200, path
