"""Fuzz: no byte string or JSON value on any topic makes decoding raise; it is a record or a reason."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.records import TOPIC_RECORDS, Record, Rejected, decode

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=30,
)


@pytest.mark.parametrize("logical", sorted(TOPIC_RECORDS))
@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=300))
def test_any_bytes_on_a_topic_decode_to_a_record_or_a_reason(logical: str, raw: bytes) -> None:
    result = decode(TOPIC_RECORDS[logical], raw)
    assert isinstance(result, Record)
    if isinstance(result, Rejected):
        assert result.reason


@pytest.mark.parametrize("logical", sorted(TOPIC_RECORDS))
@settings(max_examples=150, deadline=None)
@given(value=json_values)
def test_any_json_on_a_topic_decodes_to_a_record_or_a_reason(logical: str, value: object) -> None:
    result = decode(TOPIC_RECORDS[logical], json.dumps(value).encode())
    assert isinstance(result, Record)
