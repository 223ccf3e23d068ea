"""Schemathesis hooks for the fuzz run: accept what the SPEC requires, nothing else."""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData


def _headers(case: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (case.headers or {}).items()}


def required_by_spec(failure: Any, case: Any, response: Any) -> bool:
    """A schema-valid request whose rejection the SPEC demands, not a bug.

    - PATCH with a well-formed If-Match naming another version: 412 (or a weak tag, which
      never matches under RFC 9110's strong comparison).
    - POST /incidents/ repeating an Idempotency-Key with a different body: 422.
    """
    if not isinstance(failure, RejectedPositiveData):
        return False
    headers = _headers(case)
    if case.method.upper() == "PATCH" and response.status_code == 412:
        return "if-match" in headers
    if case.method.upper() == "POST" and response.status_code == 422:
        return "idempotency-key" in headers and b"Idempotency-Key" in response.content
    return False


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    return not required_by_spec(failure, case, response)
