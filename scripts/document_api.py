"""Write docs/api.md, the HTTP API's guide and route index, from the routes themselves.

    .venv/bin/python scripts/document_api.py

tests/domain/test_docs.py fails when the page no longer matches the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.routing import APIRoute, iter_route_contexts  # noqa: E402

from api import security  # noqa: E402
from api.app import _routes  # noqa: E402
from api.problems.model import STATUS_OF_REFUSAL  # noqa: E402
from domain.errors import BillingError  # noqa: E402

TARGET = ROOT / "docs" / "api.md"

INTRO = """# The HTTP API

Everything Ledgerline does is reachable over HTTP under `/v1`. The interactive reference is at
`/docs` of a running server (`make run`; Swagger UI, served from files shipped with Ledgerline,
no CDN), the machine-readable one at `/openapi.json`: each operation's id is its handler's name
(`pay_invoice`), every error a `Problem` whose `code` is one of an enum of every code, so a
client generated from it (tests/api/test_generated_client.py) is typed end to end. This page
is the guide, and ends with every route (generated from the code by
`scripts/document_api.py`).

## Keys and roles

Every `/v1` call carries an API key: `Authorization: Bearer ll_…`. Make one with

    .venv/bin/ledgerline keys create --role admin
    .venv/bin/ledgerline keys create --role partner --partner <partner id> --label "Acme's CRM"

The key is printed once, alone on standard output; the database keeps only its SHA-256 digest.
`ledgerline keys list` shows the keys (never their secrets); `ledgerline keys revoke KEY_ID`
revokes one (a server that verified it within `LEDGERLINE_KEY_CACHE_TTL_S`, 30 seconds by
default, may accept it that much longer).

| role | reads | commands |
| --- | --- | --- |
| `admin` (the vendor) | everything | everything |
| `partner` | its own partner, clients, lines, invoices, documents, wallet | its own |
| `finance` | everything | none (403) |
| `auditor` | everything | none (403) |

A partner key that names another partner's resource gets the same 404 as for an id that does
not exist: ids of other partners are neither confirmed nor denied. A missing, unknown or revoked
key answers 401 `unauthorized`.

Failed key checks are limited per client address: each 401 spends one of the address's
allowance, `LEDGERLINE_AUTH_FAILURES_PER_MINUTE` (60 by default, a minute's worth at once,
refilled continuously). An address with none left is answered 429 `too_many_failed_keys`, with
`Retry-After` in seconds, without its key being looked up, until the allowance refills. A
successful request never spends anything, and a key that answered within
`LEDGERLINE_KEY_CACHE_TTL_S` is never refused; a key's first use costs one database lookup, on
connections of its own.

## Commands

Commands are POSTs. Each needs an `Idempotency-Key` header (R-X5), unique per command (a UUID
does): a retry with the same key and the same body answers exactly as the first time, with the
header `Idempotent-Replayed: true`, and writes nothing; the same key with a different body is
refused with 422 `idempotency_key_reused`. Keys live in the calling API key's own namespace.

A command answers 201 with a `Location` header, the `id` of what it created or changed and the
log `position` of its last event.

## Reads

GETs read the read models. To read your own write, pass the command's `position` as
`min_position`: the GET waits (up to `wait_ms`, at most 10 s) until the read model has applied
it, then answers; if it has not, 503 `projection_behind` with `Retry-After`. A `min_position`
past the end of the log is refused at once with 422 `position_not_in_log`.

Lists are pages: `limit` (1 to 200, default 50) and `cursor`; follow `next_cursor` until it is
null. Cursors are opaque and stable under concurrent writes (keyset pagination).

## Money, ids, dates

Money is `{"amount_minor": 3900, "currency": "USD"}`: integer minor units of an ISO 4217
currency (JPY has none, KWD three), never floats. Ids are UUIDs. Instants are ISO 8601 in UTC;
business dates (`due_on`, …) are ISO dates in the partner's time zone (R-X7).

## Billing days

A partner's `anchor` (R-O2) says when its *unified invoice* goes out: on the 1st (`calendar`)
or on the day of the month the account was opened (`anniversary`; the 29th-31st clamp to a
shorter month's last day). Lines created in unified billing take the partner's anchor and day,
so their periods end on it, and their charges wait for that invoice (R-O3). Every other line
bills on its own anchor, chosen when the line is created (`anniversary` by default: the day it
starts), whatever the partner's is. `GET /v1/partners/{id}/state` shows the partner's anchor
and its next unified invoice day; a line shows its own `anchor` and `anchor_day`;
`GET /v1/partners/{id}/schedule` lists every renewal, invoice run, charge, grace end and budget
reset the billing clock will do for the partner, soonest first.

## Errors

Every error is `application/problem+json` (RFC 9457) with a stable `code` to match on, a
human `detail`, and, for invalid input, `errors` naming each failing field:

```json
{"type": "urn:ledgerline:problem:validation_failed", "title": "Validation failed",
 "status": 422, "code": "validation_failed", "detail": "The request has invalid fields.",
 "errors": [{"loc": ["body", "amount", "amount_minor"], "msg": "…", "type": "…"}]}
```

| status | when |
| --- | --- |
| 400 | the body is not JSON (`malformed_body`) |
| 401 | no key, or an unknown or revoked one (`unauthorized`) |
| 403 | the key's role may not do this (`forbidden`) |
| 404 | not found, or not the calling partner's (`partner_not_found`, `invoice_not_found`, …) |
| 409 | the state does not allow it (the rule's code, e.g. `refund_exceeds_payment`) |
| 413 | the body is over `LEDGERLINE_HTTP_BODY_MAX_BYTES`, 8 MiB by default (`body_too_large`) |
| 421 | a command sent to a read-only instance (`read_only_instance`): send it to the writing one |
| 422 | invalid input (`validation_failed`, or a rule's code such as `card_invalid`) |
| 429 | too many failed key checks from this address (`too_many_failed_keys`); see `Retry-After` |
| 503 | `projection_behind`, `service_busy` or `database_unavailable`; see `Retry-After` |

A 503 is for a while: a read model behind `min_position` (`projection_behind`), every
connection busy (`service_busy`), or a database that does not answer (`database_unavailable`).
A command answered `database_unavailable` may have landed or not: send it again with its same
`Idempotency-Key`, and it takes effect once.

Every code a business rule answers with is listed under [every rule's
code](#every-rules-code) at the end of this page, generated from the code.

Card numbers and CVVs are accepted only by the payment-method and line-card endpoints, handed
to the payment gateway at once, and never echoed, logged or stored (R-X4).

## Operations

- `GET /healthz`: the process answers.
- `GET /readyz`: the database answers, no read model is stopped, and every live read model is
  within `LEDGERLINE_READY_MAX_LAG` events of the log (default 10,000); otherwise 503
  (`database_unavailable`, `read_model_stopped` or `projections_behind`).
- `GET /metrics`: Prometheus text: `ledgerline_http_requests_total`,
  `ledgerline_http_request_duration_seconds`, `ledgerline_commands_total{command,outcome}`
  (outcome `accepted`, `replayed` or the problem's code), `ledgerline_command_duration_seconds`,
  `ledgerline_projection_position`, `ledgerline_projection_lag_events` and
  `ledgerline_projection_stopped` (1 while a read model is stopped). With several
  workers each process counts its own requests.

These three need no key: keep them off the public internet, as usual.
"""


def render() -> str:
    lines = [INTRO, "## Every route", ""]
    by_tag: dict[str, list[tuple[str, APIRoute]]] = {}
    for context in iter_route_contexts(_routes().routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema:
            tags = context.tags  # as included: a router included in another takes its tags
            tag = str(tags[0]) if tags else "other"
            by_tag.setdefault(tag, []).append((context.path or route.path, route))
    for tag, tagged in by_tag.items():
        lines += [f"### {tag}", "", "| method | path | what | who |", "| --- | --- | --- | --- |"]
        for path, route in tagged:
            who = security.access(route).value
            for method in sorted(route.methods):
                lines.append(f"| {method} | `{path}` | {route.summary or ''} | {who} |")
        lines.append("")
    lines += _rule_codes()
    return "\n".join(lines)


def _refusals(cls: type[BillingError]) -> list[type[BillingError]]:
    """Every subclass of `cls`, depth first: each refusal a command or query can answer."""
    found: list[type[BillingError]] = []
    for sub in cls.__subclasses__():
        found += [sub, *_refusals(sub)]
    return found


def _rule_codes() -> list[str]:
    """The table of every rule's problem code, from the BillingError subclasses themselves."""
    rows: dict[str, tuple[int, str]] = {}
    for refusal in _refusals(BillingError):
        if "code" not in vars(refusal):
            continue  # a family's base (NotFound), never answered as itself
        doc = " ".join((refusal.__doc__ or "").split("\n\n")[0].split())
        rows.setdefault(refusal.code, (STATUS_OF_REFUSAL[refusal.refusal], doc))
    lines = [
        "## Every rule's code",
        "",
        "The `code` of each problem a business rule answers with (besides the edge's own codes",
        "in [Errors](#errors)), and its status.",
        "",
        "| code | status | meaning |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `{code}` | {status} | {doc} |" for code, (status, doc) in sorted(rows.items())]
    return [*lines, ""]


def main() -> None:
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
