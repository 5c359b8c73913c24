"""Property-based requests generated from `/openapi.json` (schemathesis): no input, however odd, gets a 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine

from service.auth import create_key
from service.main import create_app
from tests.service.api.conftest import auth, settings_for
from tests.service.api.seed import seed

EXAMPLES_PER_OPERATION = 30


@pytest.mark.slow
def test_no_server_errors(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    _, key = create_key(engine, "admin", "fuzz")
    app = create_app(settings_for(engine, tmp_path / "home", max_upload_mb=1), engine)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    failures: list[str] = []
    for operation in operations:

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def exercise(case: schemathesis.Case) -> None:
            response = case.call(headers=auth(key))
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query}: {response.status_code}")

        exercise()
    assert not failures, "\n".join(failures[:20])
