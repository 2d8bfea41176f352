"""The fast leaf encoder gives exactly the canonical JSON that docs/verifiable-log.md defines."""

from __future__ import annotations

import base64
import uuid

from hypothesis import given
from hypothesis import strategies as st

from domain import merkle


@given(position=st.integers(min_value=0, max_value=2**62),
       version=st.integers(min_value=0, max_value=2**40),
       originator=st.uuids(),
       topic=st.text(max_size=60),
       state=st.binary(max_size=300))
def test_leaf_bytes_equal_the_canonical_json_of_the_five_fields(
        position: int, version: int, originator: uuid.UUID, topic: str, state: bytes) -> None:
    expected = merkle.canonical_json({
        "position": position, "originator_id": str(originator),
        "originator_version": version, "topic": topic,
        "state": base64.b64encode(state).decode("ascii"),
    })
    assert merkle.leaf_bytes(position, originator, version, topic, state) == expected
    assert merkle.leaf_bytes(position, str(originator).upper(), version, topic, state) == expected
