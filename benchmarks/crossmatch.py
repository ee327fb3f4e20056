"""Time the context cross-match: N sources against a random galaxy catalogue.

Prints one row per catalogue size: seconds to build the catalogue coordinates ("coords"), to run the first
`compute_context` (which also builds astropy's KD-tree: "tree+match"), to run it again on the cached tree
("match"), and build + first match together ("total"); and the share of sources with a galaxy within 60".

    python benchmarks/crossmatch.py                 # 100k sources vs 100k and 1M galaxies
    python benchmarks/crossmatch.py --sources 20000 --galaxies 50000 200000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from lcrnn.data.context import compute_context, galaxy_catalogue


def random_sky(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Points uniform on the sphere."""
    return pd.DataFrame(
        {"ra": rng.uniform(0.0, 360.0, n), "dec": np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))}
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sources", type=int, default=100_000)
    parser.add_argument("--galaxies", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    objects = random_sky(rng, args.sources)
    objects.insert(0, "object_id", [f"obj{i}" for i in range(args.sources)])

    # One-time costs (astropy frame machinery, first galactic transform) are not the cross-match's: pay them here.
    compute_context(objects.head(10), random_sky(rng, 10))

    header = (
        f"{'sources':>9} {'galaxies':>10} {'coords s':>9} {'tree+match s':>13} {'match s':>8} "
        f"{'total s':>8} {'within 60as':>11}"
    )
    print(header)
    print("-" * len(header))
    for n_gal in args.galaxies:
        galaxies = random_sky(rng, n_gal)
        t0 = time.perf_counter()
        catalogue = galaxy_catalogue(galaxies)
        t1 = time.perf_counter()
        context = compute_context(objects, catalogue)  # builds and caches the KD-tree, then matches
        t2 = time.perf_counter()
        compute_context(objects, catalogue)  # the cached tree: the cost of matching alone
        t3 = time.perf_counter()
        near = float((context["galaxy_dist_arcsec"] <= 60.0).mean())
        print(
            f"{args.sources:>9,} {n_gal:>10,} {t1 - t0:>9.2f} {t2 - t1:>13.2f} {t3 - t2:>8.2f} "
            f"{t2 - t0:>8.2f} {near:>11.2%}"
        )


if __name__ == "__main__":
    main()
