"""Remake the shipped model ``goto-sim`` (issue 15, item 4): train it, score it, write its card and fixture.

    lcrnn simulate --seed 0 --n-objects 20000 --galaxy-catalog glade,gwgc --class-fractions VS=1,SN=1,AGN=1 \
        --out runs/goto-sim/data
    python scripts/make_pretrained.py --data runs/goto-sim/data

The survey is the default GOTO-like one (its schedule, hosts and populations) with the three classes equally
common, so the network sees thousands of supernovae and AGN instead of a few hundred and its calibrated
probabilities favour no class, and with each object's patch of sky covered by a GLADE-like or a GWGC-like
catalogue, so the nearest-galaxy distance means what it means with either depth (users bring their own
catalogue). ``train_command`` is the recipe: ``lcrnn train --robust --noise-scale 4 --features`` (GRU 150 /
dense 200, weighted focal loss, gamma 2, lr 1e-3, seed 0, the features branch, early stopping; noisier
photometry up to 4 times GOTO's errors, CRTS's) into ``--work``; then the run (weights, config, history) is
copied into ``src/lcrnn/pretrained/goto-sim/`` with ``card.json``: the training data, the recipe, the
calibrated metrics of the run's own test split (Hand & Till AUC, macro F1, top-label ECE), the lcrnn version,
the date and this command. ``--from-run RUN`` packages an already trained run instead of training.

With ``--real-results JSON`` (``benchmarks/pretrained_real.py``'s output for these very weights: it is checked
by their hash) the card also carries the model's zero-shot scores on real light curves; so the full remake is
this script, that benchmark, then this script again with ``--from-run`` and ``--real-results``.

It also writes ``tests/data/pretrained_fixture.parquet``: the photometry of a few test-split light curves
with their objects' context and the model's calibrated probabilities, which tests/train/test_pretrained.py
checks the shipped file still reproduces.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
NAME = "goto-sim"
FIXTURE = ROOT / "tests" / "data" / "pretrained_fixture.parquet"
RUN_FILES = ("model.safetensors", "config.json", "history.csv")


SURVEY_COMMAND = ("lcrnn simulate --seed 0 --n-objects 20000 --galaxy-catalog glade,gwgc "
                  "--class-fractions VS=1,SN=1,AGN=1")


def train_command(data: Path, work: Path, epochs: int, seed: int) -> list[str]:
    """The `lcrnn train` command of the shipped recipe."""
    return ["lcrnn", "train", "--data", str(data), "--out", str(work), "--robust", "--noise-scale", "4",
            "--features", "--epochs", str(epochs), "--early-stopping", "8", "--lr", "1e-3", "--seed", str(seed),
            "--device", "cpu"]


def scores(clf, seqs) -> dict:
    """Calibrated Hand & Till AUC, macro F1 and top-label ECE of the run's own test split."""
    from sklearn.metrics import f1_score

    from lcrnn.evaluate.metrics import expected_calibration_error
    from lcrnn.train.scores import hand_till_auc

    test = seqs.subset(np.flatnonzero(clf.split_.part_of(seqs.object_ids) == "test"))
    proba = clf.predict_proba_sequences(test)
    on = f"its own test split of the training survey ({len(test):,} objects), calibrated probabilities"
    return {"on": on,
            "n": len(test), "auc": float(hand_till_auc(test.labels, proba)),
            "macro_f1": float(f1_score(test.labels, proba.argmax(axis=1), average="macro",
                                       labels=np.arange(len(clf.classes_)))),
            "ece": expected_calibration_error(proba, test.labels)}


def nearest_hosts(objects: pd.DataFrame, galaxies: pd.DataFrame, limit_arcsec: float) -> pd.DataFrame:
    """Each object's nearest galaxy (``host_ra``, ``host_dec``; NaN beyond the limit): a catalogue of these
    few rows gives the objects the same nearest-galaxy distances as the whole one."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord, match_coordinates_sky

    coords = SkyCoord(ra=objects["ra"].to_numpy() * u.deg, dec=objects["dec"].to_numpy() * u.deg)
    catalogue = SkyCoord(ra=galaxies["ra"].to_numpy() * u.deg, dec=galaxies["dec"].to_numpy() * u.deg)
    index, separation, _ = match_coordinates_sky(coords, catalogue)
    near = separation.to_value(u.arcsec) <= limit_arcsec
    return pd.DataFrame({"host_ra": np.where(near, galaxies["ra"].to_numpy()[index], np.nan),
                         "host_dec": np.where(near, galaxies["dec"].to_numpy()[index], np.nan)},
                        index=objects.index)


def write_fixture(clf, survey, seqs, per_class: int, seed: int) -> pd.DataFrame:
    """A few test-split light curves per class, with context columns and the model's probabilities."""
    from lcrnn.data.context import CONTEXT_COLUMNS, compute_context

    part = clf.split_.part_of(seqs.object_ids)
    rng = np.random.default_rng(seed)
    picked = []
    for index in range(len(clf.classes_)):
        members = np.flatnonzero((part == "test") & (seqs.labels == index))
        chosen = rng.choice(members, size=min(per_class, len(members)), replace=False)
        picked += list(seqs.object_ids[chosen])
    objects = survey.objects[survey.objects["object_id"].isin(picked)].reset_index(drop=True)
    config = clf.model_.context_config
    objects = objects.drop(columns=list(CONTEXT_COLUMNS), errors="ignore")  # recomputed from the catalogue
    objects = objects.merge(compute_context(objects, survey.galaxies, config), on="object_id")
    objects = objects.join(nearest_hosts(objects, survey.galaxies, config.max_distance_arcsec))
    photometry = survey.photometry[survey.photometry["object_id"].isin(picked)]
    proba = clf.predict_proba(photometry, objects[["object_id", "ra", "dec", "label", *CONTEXT_COLUMNS]])
    full = clf.predict_proba(photometry, objects[["object_id", "ra", "dec", "label"]], survey.galaxies)
    if not np.allclose(proba.iloc[:, 1:].to_numpy(), full.iloc[:, 1:].to_numpy(), atol=1e-6):
        raise RuntimeError("the fixture's carried context does not give the catalogue's probabilities")
    kept = ["object_id", "ra", "dec", "label", *CONTEXT_COLUMNS, "host_ra", "host_dec"]
    table = photometry.merge(objects[kept], on="object_id")
    table = table.merge(proba, on="object_id")
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(FIXTURE, index=False)
    return table


def real_scores(clf, path: Path | None) -> dict | None:
    """The zero-shot scores on real light curves that benchmarks/pretrained_real.py measured for these weights."""
    from lcrnn.train.run_dir import weights_sha256

    if path is None:
        return None
    measured = json.loads(path.read_text())
    if measured.get("weights_sha256") != weights_sha256(clf.network_):
        raise SystemExit(f"error: {path} was measured on weights {measured.get('weights_sha256')}, not these "
                         f"({weights_sha256(clf.network_)}); rerun benchmarks/pretrained_real.py")
    scores = measured["resamplings"]["all_points"]
    return {"on": (f"real CRTS (MANTRA) + Open Supernova Catalog light curves resampled to GOTO-like, all points, "
                   f"{scores['n_objects']} objects, zero-shot; mean ± std over 5 folds "
                   f"(benchmarks/pretrained_real.py, docs/real-data.md section 5)"),
            "auc": scores["auc_fold_mean"], "auc_std": scores["auc_fold_std"], "macro_f1": scores["f1_macro"],
            "auc_all_objects": scores["auc_hand_till"],
            "auc_all_objects_auto_priors": scores["auto_priors"]["auc_hand_till"],
            "weights_sha256": measured["weights_sha256"]}


def card(clf, data: Path, command: list[str], metrics: dict, seed: int, real: dict | None) -> dict:
    """What `lcrnn models` shows: training data, recipe, measured metrics, version, date, remake command."""
    from lcrnn.version import __version__

    model, network, train = clf.model_, clf.model_.network_config, clf.model_.train_config
    counts = ", ".join(f"{name} {count:,}" for name, count in model.class_counts.items()) + " in training"
    kept = f"kept epoch {clf.best_epoch_} of {len(clf.history_)}"
    return {
        "summary": ("GRU + light-curve features + weighted focal loss on the simulated GOTO-like survey (GLADE- "
                    "and GWGC-deep catalogue patches), robust recipe with noisier photometry; calibrated at equal "
                    "class priors: pass your survey's --priors, or auto."),
        "training_data": {
            "description": f"the default simulated survey with the three classes equally common and the sky "
                           f"covered by GLADE-like or GWGC-like catalogue patches, `{SURVEY_COMMAND}` "
                           f"(docs/simulator.md; {counts})",
            "command": SURVEY_COMMAND, "path_used": str(data), "class_counts": model.class_counts,
            "galaxies": model.galaxies,
        },
        "recipe": {
            "description": (f"{network.rnn.upper()} {network.hidden} / dense {network.dense}, weighted focal "
                            f"loss gamma {train.gamma}, --robust --noise-scale {model.augment.noise_scale:g} --features, up to {train.epochs} epochs at "
                            f"lr {train.lr}, "
                            f"seed {seed}, early stopping {train.early_stopping} on {train.select_by} ({kept})"),
            "network": network.to_dict(), "train": train.to_dict(),
            "augment": model.augment.to_dict(), "best_epoch": clf.best_epoch_,
            "epochs_run": len(clf.history_),
        },
        "metrics": metrics,
        **({"real_data": real} if real else {}),
        "weights_bytes": (ROOT / "src" / "lcrnn" / "pretrained" / NAME / "model.safetensors").stat().st_size,
        "lcrnn_version": __version__,
        "created": datetime.date.today().isoformat(),
        "command": f"python scripts/make_pretrained.py --data {data} --seed {seed}",
        "train_command": shlex.join(command),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("runs/goto-sim/data"),
                        help=f"the simulated survey ({SURVEY_COMMAND})")
    parser.add_argument("--work", type=Path, default=Path("runs/pretrained") / NAME, help="training run")
    parser.add_argument("--from-run", type=Path, help="package this trained run instead of training")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fixture-per-class", type=int, default=10)
    parser.add_argument("--real-results", type=Path,
                        help="benchmarks/pretrained_real.py's JSON for these weights, for the card")
    args = parser.parse_args()

    command = train_command(args.data, args.work, args.epochs, args.seed)
    run = args.from_run
    if run is None:
        subprocess.run([sys.executable, "-m", "lcrnn.cli", *command[1:]], check=True)
        run = args.work
    target = ROOT / "src" / "lcrnn" / "pretrained" / NAME
    target.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        shutil.copy2(run / name, target / name)

    from lcrnn.classifier import Classifier
    from lcrnn.data.io import read_survey

    clf = Classifier.load(target, device="cpu")
    survey = read_survey(args.data)
    seqs = clf.prepare(survey.photometry, survey.objects, survey.galaxies)
    metrics = scores(clf, seqs)
    table = write_fixture(clf, survey, seqs, args.fixture_per_class, args.seed)
    info = card(clf, args.data, command, metrics, args.seed, real_scores(clf, args.real_results))
    (target / "card.json").write_text(json.dumps(info, indent=1) + "\n")
    print(json.dumps(metrics, indent=1))
    print(f"{target}: {sum(p.stat().st_size for p in target.iterdir()):,} bytes; fixture {FIXTURE} "
          f"({table['object_id'].nunique()} light curves)")


if __name__ == "__main__":
    main()
