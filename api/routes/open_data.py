"""The public ledger as open data: IATI 2.03 activities and 360Giving grants (ledger/open_data.py)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Response

from api.deps import Consistent, Svc
from api.problems import PROBLEM_CONTENT, Problem
from ledger.open_data import OpenData, gather, giving_csv, giving_package, iati_xml

router = APIRouter(tags=["public"])
# As the other public answers: a few seconds in shared caches, read-your-writes with ?after=.
OPEN_DATA_CACHE = "public, max-age=10"
XML = "application/xml"
JSON = "application/json"
CSV = "text/csv; charset=utf-8"
NOTHING_YET = {"description": "not_found: no programme has money allocated yet, and neither "
                              "standard allows an empty file",
               "content": PROBLEM_CONTENT}


def _data(svc: Svc) -> OpenData:
    data = gather(svc.db, svc.areas, svc.ledger.seasons(),
                  {code: p["name"] for code, p in svc.ledger.partners().items()})
    if not data.programmes:
        raise Problem(404, "not_found", "Nothing to publish yet",
                      "no programme has money allocated yet")
    return data


def _answer(body: bytes | str, media_type: str) -> Response:
    return Response(body, media_type=media_type, headers={"Cache-Control": OPEN_DATA_CACHE})


@router.get("/public/open-data/iati.xml", dependencies=[Consistent], response_class=Response,
            summary="The programmes as IATI 2.03 activities",
            responses={200: {"description": "An iati-activities document (IATI 2.03): one activity "
                                            "per programme (season × commune × category).",
                             "content": {XML: {"schema": {"type": "string"}}}},
                       404: NOTHING_YET})
def iati(svc: Svc) -> Response:
    """Incoming funds (1) are the receipts each allocation drew on, commitments (2) the
    allocations, expenditure (4) the distributions; values in whole đồng (VND)."""
    return _answer(iati_xml(_data(svc)), XML)


@router.get("/public/open-data/360giving.json", dependencies=[Consistent], response_class=Response,
            summary="The programmes as a 360Giving package of grants",
            responses={200: {"description": "A 360Giving package: one grant per programme, to the "
                                            "commune, never to a person.",
                             "content": {JSON: {"schema": {"type": "object"}}}},
                       404: NOTHING_YET})
def giving_json(svc: Svc) -> Response:
    body = json.dumps(giving_package(_data(svc)), ensure_ascii=False, separators=(",", ":"))
    return _answer(body.encode("utf-8"), JSON)


@router.get("/public/open-data/360giving.csv", dependencies=[Consistent], response_class=Response,
            summary="The same grants in 360Giving's flat CSV columns",
            responses={200: {"description": "One row per grant, 360Giving's flat column names.",
                             "content": {CSV: {"schema": {"type": "string"}}}},
                       404: NOTHING_YET})
def giving_flat(svc: Svc) -> Response:
    return _answer(giving_csv(_data(svc)).encode("utf-8"), CSV)
