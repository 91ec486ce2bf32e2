"""The API against its own OpenAPI document, fuzzed by schemathesis over real HTTP.

Every operation gets generated requests, valid and invalid, with an admin key: no answer may
be a 5xx, and every answer must match what the document declares (status code, content type,
body schema, headers). The examples per operation are bounded to keep the suite short. One
server and database serve the whole module; the document comes from the code itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import openapi_document
from ledger.database import Database
from tests.support import served_ledger

EXAMPLES_PER_OPERATION = 10

schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture(scope="module")
def fuzzed(postgres_server: Database) -> Iterator[tuple[str, str]]:
    """A served Ledgerline of its own, and an admin key: (base URL, key). schemathesis checks
    that each operation answers 401 without a key: hundreds of failed checks from one address,
    so the failed-key limit is lifted."""
    with served_ledger(postgres_server, label="fuzz") as ledger:
        yield ledger.base_url, ledger.admin_key


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_its_schema_says_and_never_with_a_5xx(
    case: Case, fuzzed: tuple[str, str]
) -> None:
    base_url, admin = fuzzed
    case.call_and_validate(
        base_url=base_url,
        headers={"Authorization": f"Bearer {admin}"},
        # A request the schema admits may still break a rule the schema cannot say (a time
        # zone that is not in the IANA database, a card failing Luhn): a 422 with the rule's
        # code is then the right answer, so "schema-valid data is accepted" is not checked.
        excluded_checks=[positive_data_acceptance],
    )
