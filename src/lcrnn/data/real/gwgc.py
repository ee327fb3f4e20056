"""GWGC, the Gravitational Wave Galaxy Catalogue (White, Daw & Dhillon 2011, CQG 28, 085016).

47,177 galaxies within ~100 Mpc, a shallower stand-in for the GLADE catalogue the paper used for the
"distance to the nearest galaxy" context (so that distance will mostly take its dummy value). The file
(``gwgc_good.csv``, from the astro-ghost package) has NED_name, RAJ2000, DEJ2000 (degrees), maj, min
(arcmin), PAHyp, Dist, e_Dist (Mpc), a_b.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lcrnn.data.tables import OnInvalid, validate_galaxies

__all__ = ["read_gwgc"]

_RENAME = {
    "NED_name": "name",
    "RAJ2000": "ra",
    "DEJ2000": "dec",
    "maj": "maj_arcmin",
    "e_maj": "e_maj_arcmin",
    "min": "min_arcmin",
    "e_min": "e_min_arcmin",
    "PAHyp": "pa_deg",
    "Dist": "dist_mpc",
    "e_Dist": "e_dist_mpc",
}


def read_gwgc(path: str | Path, on_invalid: OnInvalid = "drop") -> pd.DataFrame:
    """Read GWGC as lcrnn's galaxy table.

    Parameters
    ----------
    path : str or Path
        ``gwgc_good.csv`` or the folder holding it.
    on_invalid : {"drop", "raise"}
        What validation does with galaxies lacking usable coordinates.

    Returns
    -------
    DataFrame
        ``ra, dec`` (degrees) then ``name, maj_arcmin, e_maj_arcmin, min_arcmin, e_min_arcmin, pa_deg,
        dist_mpc, e_dist_mpc`` and any other column of the file, unchanged.

    Raises
    ------
    FileNotFoundError
        If no catalogue file is found.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "gwgc_good.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist; pass gwgc_good.csv or its folder (e.g. ../shared/data/gwgc_galaxies)."
        )
    frame = pd.read_csv(path).rename(columns=_RENAME)
    frame["name"] = frame["name"].astype("str")
    galaxies, _ = validate_galaxies(frame, on_invalid=on_invalid)
    return galaxies
