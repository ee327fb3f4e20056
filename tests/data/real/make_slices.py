"""Rebuild the small real-data slices in this folder from ../shared/data (see README.md).

Run from the repository root: ``python tests/data/real/make_slices.py [/path/to/shared/data]``.
The selection is fixed (named ids and first-n rules), so rerunning gives the same files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
# (MANTRA label, how many) picked by ascending ID among the 395 light curves
MANTRA_PICK = {"CV": 3, "Flare": 2, "Blazar": 2, "AGN": 2, "SN": 3, "Var": 1, "LPV": 1, "Mira": 1,
               "HPM": 1, "Unknown": 1, "AGN/CV": 1, "Blazar?": 1, "SN?": 1}
# MANTRA objects that are also Open Supernova Catalog events (cross-match test), and one MANTRA CV
# matching an untyped OSC event.
MANTRA_ALSO_OSC = ["1111281150614125119", "1203281180644135630", "1003171260614126522", "1110211321074152444"]
OSC_PICK = {"Ia": 6, "II P": 2, "IIn": 1, "Ic": 1, "Ia Pec": 1, "SLSN-I": 1, "I": 1, "Candidate": 2,
            "LBV to IIn": 1}


def main(shared: Path) -> None:
    mantra_dir, osc_dir, gwgc_dir = shared / "mantra_crts_subset", shared / "osc_sne_2010_2014", shared / "gwgc_galaxies"
    out = HERE / "mantra"
    out.mkdir(exist_ok=True)
    objects = pd.read_csv(mantra_dir / "objects.csv", dtype={"ID": "int64"}).sort_values("ID")
    picked = pd.concat([objects[objects["mantra_label"] == k].head(n) for k, n in MANTRA_PICK.items()])
    picked = pd.concat([picked, objects[objects["ID"].astype(str).isin(MANTRA_ALSO_OSC)]]).drop_duplicates("ID")
    picked.to_csv(out / "objects.csv", index=False)
    curves = pd.read_parquet(mantra_dir / "lightcurves.parquet")
    curves[curves["ID"].isin(picked["ID"])].reset_index(drop=True).to_parquet(out / "lightcurves.parquet", index=False)
    info = pd.read_csv(mantra_dir / "transient_info_all5539.tsv", sep="\t")
    labels = pd.read_csv(mantra_dir / "transient_labels_all5539.csv")
    keep = info["CSS images"].isin(picked["ID"]) | (info.index < 60)
    info[keep].to_csv(out / "transient_info_all5539.tsv", sep="\t", index=False)
    labels[labels["TransientID"].isin(info.loc[keep, "CSS images"])].to_csv(
        out / "transient_labels_all5539.csv", index=False)

    out = HERE / "osc"
    out.mkdir(exist_ok=True)
    osc = pd.read_parquet(osc_dir / "objects.parquet")
    phot = pd.read_parquet(osc_dir / "photometry.parquet")
    n_det = phot[~phot["upperlimit"]].groupby("name").size()
    big = set(n_det.index[(n_det >= 3) & (n_det <= 60)])
    osc = osc[osc["ra_deg"].notna() & osc["dec_deg"].notna()].sort_values("name")
    chosen = [osc[(osc["claimedtype"] == k) & osc["name"].isin(big)].head(n) for k, n in OSC_PICK.items()]
    chosen.append(osc[osc["claimedtype"].isna() & osc["name"].isin(big)].head(1))
    # the OSC counterparts of the MANTRA overlap objects (within 3 arcsec)
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    m = picked[picked["ID"].astype(str).isin(MANTRA_ALSO_OSC)]
    c_osc = SkyCoord(osc["ra_deg"].to_numpy() * u.deg, osc["dec_deg"].to_numpy() * u.deg)
    c_m = SkyCoord(m["ra"].to_numpy() * u.deg, m["dec"].to_numpy() * u.deg)
    idx, sep, _ = c_m.match_to_catalog_sky(c_osc)
    chosen.append(osc.iloc[idx[sep.arcsec < 3]])
    sel = pd.concat(chosen).drop_duplicates("name")
    sel.reset_index(drop=True).to_parquet(out / "objects.parquet", index=False)
    phot[phot["name"].isin(sel["name"])].reset_index(drop=True).to_parquet(out / "photometry.parquet", index=False)

    out = HERE / "gwgc"
    out.mkdir(exist_ok=True)
    pd.read_csv(gwgc_dir / "gwgc_good.csv", nrows=300).to_csv(out / "gwgc_good.csv", index=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/data"))
