"""Validators of the open-data exports against the standards' own schemas, offline.

The schemas are vendored in tests/fixtures/schemas/ (its README names their sources and licences).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jsonschema import Draft202012Validator, FormatChecker
from lxml import etree
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMAS = Path(__file__).parent / "fixtures" / "schemas"
GIVING_URLS = [f"https://raw.githubusercontent.com/ThreeSixtyGiving/standard/{v}/schema/"
               "360-giving-schema.json" for v in ("1.4.2", "1.4.3")]
# RFC 3339 date-time, as JSON Schema's "date-time" format means it. Checked here rather than by
# an optional package: 360Giving's dates are `oneOf` a date-time and a plain date, so an unchecked
# format would let every plain date match both and fail.
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@cache
def iati_schema() -> etree.XMLSchema:
    # The XSD imports xml.xsd by a relative location: parsed from its file, nothing is fetched.
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "iati-2.03" / "iati-activities-schema.xsd"),
                                       parser))


def iati_errors(body: bytes) -> list[str]:
    """What the IATI 2.03 schema finds wrong in `body` (empty: valid)."""
    doc = etree.fromstring(body, etree.XMLParser(no_network=True, resolve_entities=False))
    schema = iati_schema()
    schema.validate(doc)
    return [f"{e.line}: {e.message}" for e in schema.error_log]


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("date-time")
    def date_time(value: object) -> bool:
        return not isinstance(value, str) or bool(_DATE_TIME.match(value))

    @checker.checks("uri")
    def uri(value: object) -> bool:
        return not isinstance(value, str) or bool(urlparse(value).scheme)

    return checker


@cache
def giving_validator() -> Draft202012Validator:
    grant = json.loads((SCHEMAS / "360giving" / "360-giving-schema.json").read_text("utf-8"))
    package = json.loads((SCHEMAS / "360giving" / "360-giving-package-schema.json").read_text("utf-8"))
    # Their `$schema` says http://, not the dialect's https:// id: the dialect is named here.
    resource = Resource(contents=grant, specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resources([(url, resource) for url in GIVING_URLS])
    return Draft202012Validator(package, registry=registry, format_checker=_format_checker())


def giving_errors(package: Any) -> list[str]:
    """What the 360Giving package schema finds wrong in `package` (empty: valid)."""
    return [f"{list(e.absolute_path)}: {e.message}" for e in giving_validator().iter_errors(package)]
