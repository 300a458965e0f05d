"""Fuzz the API from its OpenAPI schema with schemathesis: no server error, no answer outside the schema.

    python -m benchmarks.fuzz_api --url http://127.0.0.1:8000 --keys var/demo.env [--examples 200]

against a running ``certledger up`` (its demo keys), every operation with the credentials of the role it is for
(admin, department, association, counter, holder token, none for the public routes), ``--examples`` schema-valid
and as many schema-invalid cases each, with all of schemathesis's checks. Prints a table and writes
benchmarks/results/fuzz_api.json (cases, server errors, schema violations, other check failures). The test suite
runs the same loop in-process, bounded (tests/api/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation

from benchmarks.report import report

ROLE_OF_TAG = {"admin": "admin", "departments": "department", "associations": "association", "counters": "counter",
               "holders": "holder"}
SCHEMA_FAILURES = frozenset({"JsonSchemaError", "MalformedJson", "UndefinedStatusCode", "UndefinedContentType",
                             "MissingContentType", "MalformedMediaType", "MissingHeaders", "DiscriminatorMismatch",
                             "ContentDeserializationError"})
# Statuses a schema-valid request may get: schemathesis's default, and 422 where a rule the schema cannot express
# refuses it (a check character, an unknown certificate type, a date range); never 5xx.
POSITIVE_STATUSES = ["2xx", "401", "403", "404", "409", "413", "422", "429"]


@dataclass
class Figures:
    cases: int = 0
    server_errors: int = 0
    schema_violations: int = 0
    other_failures: int = 0
    seen: Counter[str] = field(default_factory=Counter)  # "METHOD path: failure kind" -> cases

    def record(self, where: str, failures: list[Failure]) -> None:
        kinds = {type(f).__name__ for f in failures}
        self.server_errors += "ServerError" in kinds
        self.schema_violations += bool(kinds & SCHEMA_FAILURES)
        self.other_failures += bool(kinds - SCHEMA_FAILURES - {"ServerError"})
        for f in failures:
            self.seen[f"{where}: {type(f).__name__}: {f.title}"] += 1


def headers_for(operation: Any, credentials: dict[str, dict[str, str]]) -> dict[str, str]:
    """The headers of the role an operation is for (its first tag); the public routes get none."""
    tags = operation.definition.raw.get("tags") or []
    return dict(credentials.get(ROLE_OF_TAG.get(tags[0], ""), {})) if tags else {}


def fuzz(schema: Any, credentials: dict[str, dict[str, str]], examples: int, seed: int = 11) -> Figures:
    """Every operation, ``examples`` positive and as many negative cases each, all checks; counts, never raises."""
    figures = Figures()
    schema.config.checks.positive_data_acceptance.expected_statuses = POSITIVE_STATUSES
    for result in schema.get_all_operations():
        operation = result.ok()
        where = f"{operation.method.upper()} {operation.path}"
        headers = headers_for(operation, credentials)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz_operation(operation, mode, headers, examples, seed, where, figures)
    return figures


def _fuzz_operation(operation: Any, mode: GenerationMode, headers: dict[str, str], examples: int, seed: int,
                    where: str, figures: Figures) -> None:
    @settings(max_examples=examples, deadline=None, database=None, derandomize=seed is not None,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        figures.cases += 1
        try:
            case.call_and_validate(headers=_credentials(case, headers))
        except FailureGroup as group:
            figures.record(where, list(group.exceptions))
        except Failure as failure:
            figures.record(where, [failure])
        except Exception as error:  # noqa: BLE001 - in-process, the app's own exception (a 500 served over HTTP)
            figures.server_errors += 1
            figures.seen[f"{where}: {type(error).__name__}: {error}"] += 1

    try:
        run()
    except Unsatisfiable:
        pass  # no input of this mode exists (e.g. no invalid input for an operation without parameters)


def _credentials(case: Any, headers: dict[str, str]) -> dict[str, str]:
    """The role's headers, unless this case's headers are the invalid part (a missing or malformed key): then the
    case goes as generated, and must be refused."""
    header = case.meta.components.get(ParameterLocation.HEADER) if case.meta is not None else None
    return {} if header is not None and header.mode.is_negative else headers


def demo_credentials(url: str, keys_file: Path) -> dict[str, dict[str, str]]:
    """Each role's headers from ``certledger up``'s demo keys, and a holder token the admin key issues."""
    values = dict(line.removeprefix("export ").split("=", 1) for line in keys_file.read_text().splitlines()
                  if "=" in line and not line.startswith("#"))
    keys = {k: v.strip().strip("'\"") for k, v in values.items()}
    token = httpx.post(f"{url}/holders/tokens", headers={"X-API-Key": keys["ADMIN_KEY"]},
                       json={"id_type": "001", "id_number": "11430100303989522P"}, timeout=30).json()["token"]
    return {"admin": {"X-API-Key": keys["ADMIN_KEY"]}, "department": {"X-API-Key": keys["DEPT_KEY"]},
            "association": {"X-API-Key": keys["ASSOCIATION_KEY"]}, "counter": {"X-API-Key": keys["COUNTER_KEY"]},
            "holder": {"Authorization": f"Bearer {token}"}}


def main() -> None:
    import schemathesis

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--keys", type=Path, default=Path("var/demo.env"))
    parser.add_argument("--examples", type=int, default=200, help="per operation and mode (positive, negative)")
    args = parser.parse_args()
    schema = schemathesis.openapi.from_url(f"{args.url}/openapi.json")
    started = time.perf_counter()
    figures = fuzz(schema, demo_credentials(args.url, args.keys), args.examples)
    seconds = time.perf_counter() - started
    for where, n in figures.seen.most_common(20):
        print(f"{n:6d}  {where}")
    report("fuzz_api", {"examples_per_operation_and_mode": args.examples, "cases": figures.cases,
                        "server_errors": figures.server_errors, "schema_violations": figures.schema_violations,
                        "other_check_failures": figures.other_failures, "seconds": round(seconds, 1),
                        "cases_per_s": round(figures.cases / seconds, 1)})


if __name__ == "__main__":
    main()
