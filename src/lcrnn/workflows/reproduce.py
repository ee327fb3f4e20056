"""The main job: the paper's pipeline end to end on the embedded simulated survey.

Two profiles. `quick` trains one GRU with the weighted focal loss long enough to be meaningful and fits in
~15 minutes on 2 CPU cores; `paper` runs the paper's full experiment (the Table 1 grid, 200 epochs each).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from lcrnn.errors import InvalidConfigError
from lcrnn.train.config import TrainConfig

__all__ = ["PROFILES", "Profile", "describe_to_directory", "reproduce"]


@dataclass(frozen=True)
class Profile:
    name: str
    epochs: int          # epochs per model
    lr: float            # Adam learning rate
    grid: bool           # run the whole Table 1 grid, or only the GRU + weighted focal loss model
    tsne_samples: int    # objects in each t-SNE panel
    description: str


# Objects the main job's audit scores: every SN and AGN, VS capped (the Hand & Till AUC ignores proportions).
AUDIT_MAX_OBJECTS = 3000

PROFILES = {
    # lr 1e-3 rather than the paper's 1e-4 so a short run converges: at 1e-3 our full-survey runs peaked by epoch 9-11.
    "quick": Profile("quick", epochs=20, lr=1e-3, grid=False, tsne_samples=1500,
                     description="one GRU + weighted focal loss model, 20 epochs at lr 1e-3"),
    "paper": Profile("paper", epochs=TrainConfig.epochs, lr=TrainConfig.lr, grid=True, tsne_samples=3000,
                     description=f"the paper's Table 1 grid, {TrainConfig.epochs} epochs at lr "
                                 f"{TrainConfig.lr:g} per model"),
}


def describe_to_directory(survey, out: str | Path) -> tuple[str, list[Path]]:
    """Per-class statistics (printed table, `summary.json`) and the paper's Figs 1-3 for `survey` into `out`."""
    from lcrnn.data.context import objects_context
    from lcrnn.data.describe import describe_survey, format_summary, labelled_statistics, write_summary
    from lcrnn.evaluate.data_figures import save_data_figures

    context = objects_context(survey.objects, survey.galaxies)  # carried by the objects, else computed
    statistics = labelled_statistics(survey)  # shared by the table and the figures
    table = describe_survey(survey, context=context, statistics=statistics)
    write_summary(table, Path(out) / "summary.json")
    figures = save_data_figures(survey, out, context=context, statistics=statistics)
    return format_summary(table), figures


def _audit(survey, seed: int, echo: Callable[[str], None]):
    """The survey's audit (issue 14) on a capped subsample, so it adds seconds, not minutes, to the job."""
    from lcrnn.evaluate.audit import audit_survey

    start = time.perf_counter()
    audit = audit_survey(survey, seed=seed, max_objects=AUDIT_MAX_OBJECTS)
    scores = ", ".join(f"{name} {s.auc:.3f}" for name, s in audit.scores.items())
    echo(f"      audit ({audit.n_objects:,} objects, {time.perf_counter() - start:.0f} s): trees' AUC {scores}")
    return audit


def reproduce(out: str | Path, profile: str = "quick", data: str | Path | None = None, n_objects: int | None = None,
              seed: int = 0, workers: int = 1, storage: str | None = None, epochs: int | None = None,
              echo: Callable[[str], None] = print) -> dict:
    """Simulate (unless `data` is given), describe, train, classify the test split, and report.

    Returns a dict with the paths written and the test metrics of the main model.
    """
    from lcrnn.classifier import Classifier
    from lcrnn.data.io import read_survey, write_survey
    from lcrnn.data.simulate import SimulationConfig, simulate_survey
    from lcrnn.workflows.train_run import train_run

    if profile not in PROFILES:
        raise InvalidConfigError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    prof = PROFILES[profile]
    if epochs is not None:
        prof = replace(prof, epochs=epochs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    if data is None:
        data = out / "data"
        if not (data / "photometry.parquet").is_file():
            config = SimulationConfig(seed=seed) if n_objects is None else SimulationConfig(n_objects=n_objects,
                                                                                             seed=seed)
            echo(f"[1/4] simulating the GOTO-like survey into {data} ...")
            write_survey(simulate_survey(config, progress=True), data)
        else:
            echo(f"[1/4] reusing the simulated survey in {data}")
    survey = read_survey(data)
    echo(f"      {survey.n_objects} objects: " + ", ".join(f"{k} {v}" for k, v in survey.class_counts().items()))

    echo(f"[2/4] describing the data into {out / 'describe'} ...")
    summary, _ = describe_to_directory(survey, out / "describe")
    echo(summary)

    result: dict = {"profile": prof.name, "data": str(data)}
    if prof.grid:
        from lcrnn.grid import GridConfig, run_grid, summarise_grid

        echo(f"[3/4] running the Table 1 grid ({prof.epochs} epochs per model) ...")
        grid = GridConfig(train=TrainConfig(epochs=prof.epochs, lr=prof.lr, seed=seed))
        run_grid(data, out / "grid", grid, storage=storage, workers=workers)
        table = summarise_grid(out / "grid", storage=storage, data=data, report=False)
        echo(table.to_string(index=False))
        runs = [Path(p) for p in table["run_dir"]] if "run_dir" in table else []
        result["table2"] = str(out / "grid" / "table2.md")
    else:
        echo(f"[3/4] training GRU + weighted focal loss ({prof.description}) ...")
        clf = Classifier(rnn="gru", loss="focal", gamma=2.0,
                         train=TrainConfig(epochs=prof.epochs, lr=prof.lr, seed=seed))
        metrics = train_run(clf, survey, out / "gru-focal")
        runs = [out / "gru-focal"]
        test = metrics["test"]
        raw = test.get("auc_hand_till_raw")
        echo(f"      test split: {test['n']} objects, Hand & Till AUC {test['auc_hand_till']:.4f}, "
             f"macro F1 {test['f1_macro']:.3f} (calibrated probabilities"
             + (f"; the raw network scores rank to AUC {raw:.4f})" if raw is not None else ")"))
        result["test"] = test

    echo(f"[4/4] writing the evaluation report into {out / 'report'} ...")
    from lcrnn.evaluate.report import build_report

    audit = _audit(survey, seed, echo)
    models = [Classifier.load(run) for run in runs]
    report = build_report(models, survey.photometry, survey.objects, survey.galaxies, out / "report",
                          split="test", tsne_samples=prof.tsne_samples, audit=audit, data=data,
                          describe=out / "describe")
    result["report"] = str(out / "report" / "report.html")
    result["metrics"] = report
    echo(f"done in {time.perf_counter() - t0:.0f} s; open {result['report']}")
    return result
