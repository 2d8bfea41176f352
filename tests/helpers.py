"""Small builders for tests that drive the HTTP API."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.services import Services

API = "/api/v1"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def communes(services: Services, district: str | None = None) -> list[str]:
    return [a.code for a in services.areas.communes(district)]


def post(client: TestClient, path: str, token: str, body: dict[str, Any],
         expect: int = 201, **headers: str) -> dict[str, Any]:
    response = client.post(API + path, json=body, headers={**auth(token), **headers})
    assert response.status_code == expect, response.text
    data: dict[str, Any] = response.json()
    return data


def get(client: TestClient, path: str, token: str | None = None, expect: int = 200,
        **params: Any) -> dict[str, Any]:
    response = client.get(API + path, params=params, headers=auth(token) if token else {})
    assert response.status_code == expect, response.text
    data: dict[str, Any] = response.json()
    return data


def donor(client: TestClient, token: str, name: str = "Nguyễn Văn An", **extra: Any) -> str:
    return str(post(client, "/donors", token, {"name": name, "kind": "individual", **extra})["id"])


def receipt(client: TestClient, token: str, donor_id: str, amount_vnd: int,
            fund: str = "campaign", **extra: Any) -> dict[str, Any]:
    body = {"donor_id": donor_id, "fund": fund, "received_on": "2021-03-01", "channel": "bank",
            "amount_vnd": amount_vnd, **extra}
    return post(client, "/receipts", token, body)
