"""Probe the HTTP service with schemathesis: every route, every check, on SQLite and PostgreSQL.

A tiny Classifier is trained on a small simulated survey and saved; ``lcrnn serve``'s app is started on it
under uvicorn (a real server on localhost) with a SQLite store and, when reachable, a PostgreSQL one. For each
operation of the service's OpenAPI schema schemathesis generates ``--examples`` valid (positive) and
``--examples`` invalid (negative) requests -- writes with the bearer token, a few objects registered and
observed first so that reads find something -- and runs every check it has on each answer (no 5xx, status
codes, content types and bodies as documented, schema-violating input refused, schema-compliant input
accepted, auth enforced, ...). Prints one row per backend: cases sent, 5xx answers, schema violations
(answers whose status, body or headers the schema does not document), and the other checks that failed.

    python benchmarks/schemathesis_probe.py                      # SQLite, and PostgreSQL when reachable
    python benchmarks/schemathesis_probe.py --examples 500 --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

PostgreSQL at 127.0.0.1:5432 (database ``test``, trust auth) is started with ``pg_ctlcluster`` when down.
Exit status 1 when any backend had a 5xx or a schema violation.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import torch

SCHEMA_CHECKS = (
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def train_tiny_run(folder: Path) -> tuple[Path, Path, object]:
    """A saved tiny Classifier (context input on), its galaxy catalogue file, and the survey it saw."""
    from lcrnn.classifier import Classifier
    from lcrnn.data.simulate.config import SimulationConfig
    from lcrnn.data.simulate.survey import simulate_survey

    survey = simulate_survey(
        SimulationConfig(n_objects=300, seed=0, class_fractions={"VS": 0.5, "SN": 0.25, "AGN": 0.25})
    )
    torch.manual_seed(0)
    clf = Classifier(hidden=8, dense=8, epochs=1, batch_size=32, device="cpu", progress=False)
    clf.fit(survey.photometry, survey.objects, survey.galaxies)
    galaxies = folder / "galaxies.parquet"
    survey.galaxies.to_parquet(galaxies)
    return clf.save(folder / "run"), galaxies, survey


def postgres_url(url: str) -> str | None:
    """``url`` if PostgreSQL answers there (starting the local cluster once if it does not), else None."""
    import sqlalchemy as sa

    def answers() -> bool:
        try:
            engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            engine.dispose()
            return True
        except (sa.exc.SQLAlchemyError, OSError):
            return False

    if answers():
        return url
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if versions:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", versions[0], "main", "start"], check=False
        )
        time.sleep(2)
    return url if answers() else None


@contextlib.contextmanager
def serving(run: Path, galaxies: Path, db_url: str, prefix: str, token: str) -> Iterator[str]:
    """The service on ``db_url`` under uvicorn on a free localhost port; yields its base URL."""
    import uvicorn

    from lcrnn.serve.app import ServeConfig, create_app

    os.environ["LCRNN_API_TOKEN"] = token
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = ServeConfig(model_dir=run, db_url=db_url, db_prefix=prefix, galaxies_path=galaxies)
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the service did not start; see the log above")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def seed_store(base: str, headers: dict[str, str], survey: object, n: int = 5) -> None:
    """Register ``n`` objects and post their detections, so that reads and retractions find something."""
    import httpx

    objects = survey.objects.head(n)
    phot = survey.photometry[survey.photometry.object_id.isin(objects.object_id)]
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for r in objects.itertuples():
            client.post(
                "/objects", json={"object_id": r.object_id, "ra": r.ra, "dec": r.dec}
            ).raise_for_status()
        rows = phot[["object_id", "mjd", "mag", "mag_err", "band"]].astype({"mag": float, "mag_err": float})
        client.post("/observations", json=rows.to_dict("records")).raise_for_status()


def probe(base: str, headers: dict[str, str], examples: int, seed: int) -> tuple[int, Counter, list[str]]:
    """Run schemathesis over every operation; return (cases, failures per check, a few failing examples)."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import CHECKS, load_all_checks

    load_all_checks()
    checks = list(CHECKS.get_all())
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    cases, failed, shown = 0, Counter(), []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            where = f"{operation.label} [{mode.value}]"

            @hypothesis_seed(seed)
            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=False,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: object) -> None:
                nonlocal cases
                cases += 1
                response = case.call(base_url=base, headers=headers)
                if response.status_code >= 500:
                    failed["5xx"] += 1
                for check in checks:
                    try:
                        case.validate_response(response, checks=[check], headers=headers)
                    except (Exception, BaseExceptionGroup):  # noqa: BLE001 -- counted, not raised
                        failed[check.__name__] += 1
                        if len(shown) < 10:
                            shown.append(
                                f"{where} {check.__name__}: "  # noqa: B023 -- run() runs in this iteration
                                f"{response.status_code} {response.text[:200]}"
                            )

            try:
                run()
            except Unsatisfiable:  # nothing invalid to send (an operation without parameters or body)
                pass
    return cases, failed, shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--examples", type=int, default=200, help="cases per operation and mode (default 200)"
    )
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL ('' to skip)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    token = uuid.uuid4().hex
    headers = {"Authorization": f"Bearer {token}"}
    rows, bad = [], False
    with tempfile.TemporaryDirectory() as tmp:
        run, galaxies, survey = train_tiny_run(Path(tmp))
        backends = [("sqlite", f"sqlite:///{Path(tmp) / 'probe.db'}")]
        pg = postgres_url(args.postgres) if args.postgres else None
        backends += [("postgresql", pg)] if pg else []
        if args.postgres and not pg:
            print(f"PostgreSQL not reachable at {args.postgres}: probed SQLite only.")
        for name, url in backends:
            prefix = f"probe{uuid.uuid4().hex[:8]}_"
            t0 = time.perf_counter()
            with serving(run, galaxies, url, prefix, token) as base:
                seed_store(base, headers, survey)
                cases, failed, shown = probe(base, headers, args.examples, args.seed)
            if name == "postgresql":
                from lcrnn.serve.store import StateStore

                StateStore(url, prefix=prefix).drop_all()
            violations = sum(failed[c] for c in SCHEMA_CHECKS)
            others = {k: v for k, v in failed.items() if k not in SCHEMA_CHECKS and k != "5xx"}
            rows.append((name, cases, failed["5xx"], violations, others, time.perf_counter() - t0, shown))
            bad |= failed["5xx"] > 0 or violations > 0
    print(
        f"\n{'backend':<12} {'cases':>7} {'5xx':>5} {'schema violations':>18} {'seconds':>8}  other failed checks"
    )
    for name, cases, n5xx, violations, others, seconds, _ in rows:
        other = ", ".join(f"{k}: {v}" for k, v in sorted(others.items())) or "none"
        print(f"{name:<12} {cases:>7} {n5xx:>5} {violations:>18} {seconds:>8.0f}  {other}")
    for name, *_, shown in rows:
        for line in shown:
            print(f"  {name}: {line}")
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
