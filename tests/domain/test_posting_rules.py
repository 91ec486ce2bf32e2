"""Double entry (R-X2): the posting rules are declared once, as data, and every path a rule
names is a field of its event of the right type.

domain/postings.py reads events by these paths (entries_for) and projections/balances.py turns
the same declaration into the journal's SQL, so a path is used twice: here it is checked
against the events' annotations, which catches a misspelt date or partner field that
entries_for never reads (the SQL would quietly post it as NULL, or on the recorded day).
"""

from __future__ import annotations

import typing
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

import pytest

from domain.money import Money
from domain.postings import ITEM, OWNED, POSTINGS, AccountKind, AccountRule, PostingRule


def element_type(hint: Any) -> Any:
    """The items' type of a `tuple[X, ...]` field."""
    assert typing.get_origin(hint) is tuple, hint
    return typing.get_args(hint)[0]


def path_type(rule: PostingRule, path: str) -> Any:
    """The annotated type at a rule's path, walking the event's and its values' annotations."""
    first, *rest = path.split(".")
    if path == "originator_id":
        return UUID  # the aggregate's id, generic in the library; every Ledgerline id is a UUID
    hints = typing.get_type_hints(rule.event)
    if first == ITEM:
        assert rule.per_item is not None, f"{path} outside a rule posting per item"
        hint = element_type(hints[rule.per_item])
    else:
        assert first in hints, f"{rule.event.__qualname__} has no field {first}"
        hint = hints[first]
    for name in rest:
        fields = typing.get_type_hints(hint)
        assert name in fields, f"{hint.__qualname__} has no field {name}"
        hint = fields[name]
    return hint


def check_account(rule: PostingRule, account: AccountRule) -> None:
    if account.owner is not None:
        assert path_type(rule, account.owner) is UUID
    if account.picked_by is not None:
        enum = path_type(rule, account.picked_by)
        assert issubclass(enum, StrEnum)
        picked = {value for value, _ in account.picks}
        assert picked <= {member.value for member in enum}
        if account.kind is None:  # no default: every value must name its account
            assert picked == {member.value for member in enum}


@pytest.mark.parametrize("rule", POSTINGS, ids=lambda rule: rule.event.__qualname__)
def test_r_x2_every_path_of_a_posting_rule_is_a_field_of_its_event(rule: PostingRule) -> None:
    assert path_type(rule, rule.amount) is Money
    assert path_type(rule, rule.partner) is UUID
    if rule.dated_by is not None:
        assert path_type(rule, rule.dated_by) is date
    check_account(rule, rule.debit)
    check_account(rule, rule.credit)


def test_r_x2_each_event_has_one_posting_rule() -> None:
    events = [rule.event for rule in POSTINGS]
    assert len(events) == len(set(events))


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({}, "a kind, or a field"),
        ({"picked_by": "source"}, "a kind, or a field"),
        ({"kind": AccountKind.REFUNDS, "picks": (("x", AccountKind.REFUNDS),)}, "a kind, or"),
        ({"kind": AccountKind.RECEIVABLE}, "owner exactly"),
        ({"kind": AccountKind.REFUNDS, "owner": "payer_id"}, "owner exactly"),
        (
            {
                "kind": AccountKind.CASH_CLEARING,
                "picked_by": "source",
                "picks": (("bonus", AccountKind.BONUS_LIABILITY),),
            },
            "owner exactly",
        ),
    ],
)
def test_r_x2_an_account_rule_refuses_a_shape_that_posts_nowhere(
    arguments: dict[str, Any], problem: str
) -> None:
    """A rule with no kind, picks without a field, or an owner that does not fit its kinds."""
    with pytest.raises(ValueError, match=problem):
        AccountRule(**arguments)


def test_r_x2_an_account_rule_without_a_default_refuses_an_unpicked_value() -> None:
    rule = AccountRule(picked_by="kind", picks=(("lead", AccountKind.REVENUE_LEADS),))
    assert rule.kind_for("lead") is AccountKind.REVENUE_LEADS
    with pytest.raises(ValueError, match="no account for 'product'"):
        rule.kind_for("product")
    assert AccountKind.RECEIVABLE in OWNED
