"""The store's SQL tables (SQLAlchemy Core), named with one prefix so that several stores share a database."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

__all__ = ["StoreTables", "define_tables"]


@dataclass(frozen=True)
class StoreTables:
    """The tables of one store and the metadata that creates and drops them.

    ``meta`` holds, as JSON under ``model``, ``run`` and ``catalogue``, which model (its shape, its name and
    weights hash) wrote the states and which galaxy catalogue the contexts were computed with; ``objects`` one row per object (position, context, current
    recurrent state and probabilities); ``observations`` and ``upper_limits`` the photometry;
    ``probabilities`` one row per object and class (what candidate queries search); ``history`` the
    probabilities after each detection.
    """

    metadata: sa.MetaData
    meta: sa.Table
    objects: sa.Table
    observations: sa.Table
    upper_limits: sa.Table
    probabilities: sa.Table
    history: sa.Table
    retracted: sa.Table  # detections taken back (DELETE), kept with when and how: the record of retractions


def define_tables(prefix: str) -> StoreTables:
    """The store's tables, each name starting with ``prefix``.

    ``create_all`` makes the indexes of the tables it creates only; the metadata's ``after_create`` listener
    adds the indexes a store written by an older version lacks (``CREATE INDEX IF NOT EXISTS``), so an existing
    database opens with every index.
    """
    p = prefix
    md = sa.MetaData()
    sa.event.listen(md, "after_create", _create_missing_indexes)
    return StoreTables(
        metadata=md,
        meta=sa.Table(
            f"{p}meta", md, sa.Column("key", sa.String(64), primary_key=True), sa.Column("value", sa.Text)
        ),
        objects=_objects_table(md, p),
        observations=_photometry_table(
            md,
            p,
            "observations",
            sa.Column("mag", sa.Double, nullable=False),
            sa.Column("mag_err", sa.Double, nullable=False),
            sa.Column("band", sa.String(16), nullable=False),
            sa.Column("alert_id", sa.String(64)),
            sa.Column("received_at", sa.Double, nullable=False),
            sa.UniqueConstraint("object_id", "mjd", name=f"{p}uq_obs_object_mjd"),
            sa.UniqueConstraint("alert_id", name=f"{p}uq_obs_alert"),  # NULLs never collide
        ),
        upper_limits=_photometry_table(
            md,
            p,
            "upper_limits",
            sa.Column("limit_mag", sa.Double, nullable=False),
            sa.Column("band", sa.String(16), nullable=False),
            sa.UniqueConstraint("object_id", "mjd", "band", name=f"{p}uq_ul_object_mjd_band"),
        ),
        probabilities=sa.Table(  # one row per object and class: candidate queries use the index
            f"{p}probabilities",
            md,
            sa.Column("object_id", sa.String(128), sa.ForeignKey(f"{p}objects.object_id"), primary_key=True),
            sa.Column("cls", sa.String(64), primary_key=True),
            sa.Column("prob", sa.Double, nullable=False),
            sa.Index(f"{p}ix_prob_cls_prob_object", "cls", "prob", "object_id"),
        ),
        history=sa.Table(
            f"{p}history",
            md,
            sa.Column("object_id", sa.String(128), sa.ForeignKey(f"{p}objects.object_id"), primary_key=True),
            sa.Column("step", sa.Integer, primary_key=True),  # 1-based detection number, in time order
            sa.Column("mjd", sa.Double, nullable=False),
            sa.Column("probabilities", sa.JSON, nullable=False),  # list, in the model's class order
        ),
        retracted=_photometry_table(  # no foreign key: the record outlives a retracted object
            md,
            p,
            "retracted",
            sa.Column("mag", sa.Double, nullable=False),
            sa.Column("mag_err", sa.Double, nullable=False),
            sa.Column("band", sa.String(16), nullable=False),
            sa.Column("alert_id", sa.String(64), index=True),  # a re-sent retracted alert stays retracted
            sa.Column("received_at", sa.Double, nullable=False),
            sa.Column("retracted_at", sa.Double, nullable=False),
            sa.Column("scope", sa.String(16), nullable=False),  # "observation" or "object" (all of it)
            foreign_key=False,
        ),
    )


def _objects_table(md: sa.MetaData, p: str) -> sa.Table:
    """One row per object: position, context, its current state and probabilities, and what lists sort by."""
    return sa.Table(
        f"{p}objects",
        md,
        sa.Column("object_id", sa.String(128), primary_key=True),
        sa.Column("ra", sa.Double, nullable=False),
        sa.Column("dec", sa.Double, nullable=False),
        sa.Column("gal_l", sa.Double),
        sa.Column("gal_b", sa.Double),
        sa.Column("galaxy_dist_arcsec", sa.Double),
        sa.Column("n_obs", sa.Integer, nullable=False, default=0),
        sa.Column("first_mjd", sa.Double),
        sa.Column("last_mjd", sa.Double),
        sa.Column("state", sa.LargeBinary),  # float32 recurrent state, IncrementalClassifier layout
        sa.Column("probabilities", sa.JSON),  # {class: probability}
        sa.Column("leading_class", sa.String(64)),
        sa.Column("leading_prob", sa.Double),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.Index(f"{p}ix_objects_updated", "updated_at"),
        # The vetting list's orders and the cone's prefilter (lcrnn.serve.store.search).
        sa.Index(f"{p}ix_objects_dec_ra", "dec", "ra"),
        *(sa.Index(f"{p}ix_objects_{key}", key, "object_id")  # the id breaks ties
          for key in ("last_mjd", "first_mjd", "n_obs", "leading_prob")),
        sa.Index(f"{p}ix_objects_leading", "leading_class", "leading_prob", "n_obs"),  # counts the filters
    )


def _create_missing_indexes(metadata: sa.MetaData, connection: sa.Connection, **_: object) -> None:
    for table in metadata.sorted_tables:
        for index in table.indexes:
            connection.execute(sa.schema.CreateIndex(index, if_not_exists=True))


def _photometry_table(
    md: sa.MetaData, p: str, name: str, *columns: sa.SchemaItem, foreign_key: bool = True
) -> sa.Table:
    """A table of photometry: a row id, the object and the time, then ``columns``."""
    object_id = sa.Column(
        "object_id", sa.String(128), *([sa.ForeignKey(f"{p}objects.object_id")] if foreign_key else []),
        nullable=False, index=not foreign_key,
    )
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER only
    return sa.Table(
        f"{p}{name}",
        md,
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        object_id,
        sa.Column("mjd", sa.Double, nullable=False),
        *columns,
    )
