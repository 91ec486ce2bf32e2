"""The invoice schemas' source sets are the domain's (one source for each rule): the OpenAPI
enum of what a payer may announce is exactly the money the vendor confirms (R-C2, R-H2).
No database: a few milliseconds."""

from __future__ import annotations

from typing import get_args

from api.schemas.invoice_commands import PaymentAnnouncementRequest
from domain.payment_methods import PaymentSource


def test_r_h2_a_payer_announces_exactly_the_sources_the_vendor_confirms() -> None:
    announced = set(get_args(PaymentAnnouncementRequest.model_fields["source"].annotation))
    assert announced == {source.value for source in PaymentSource if source.is_confirmed_by_vendor}
