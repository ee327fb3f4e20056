"""Request and response bodies: the shape of the JSON, for parsing and for the OpenAPI schema.

They declare types, required fields and the lengths the database columns hold; the rules on values (finite
times and magnitudes, positive errors, positions on the sky) are the data layer's, applied by the service
(:mod:`lcrnn.data.tables`), so that the service accepts exactly what the batch ``Classifier`` accepts.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lcrnn.data.tables import DEFAULT_BAND

__all__ = ["Candidate", "HistoryEntry", "ObjectDetail", "ObjectIn", "ObjectSummary", "ObservationIn",
           "ObservationsResult"]


class ObjectIn(BaseModel):
    """A new object: id and ICRS position in degrees."""

    model_config = ConfigDict(extra="forbid")
    object_id: str = Field(min_length=1, max_length=128, pattern=r"^[^\s/]+$")  # usable in /objects/{id}
    ra: float = Field(description="Right ascension [deg], in [0, 360).")
    dec: float = Field(description="Declination [deg], in [-90, 90].")


class ObservationIn(BaseModel):
    """One detection. ``alert_id`` (e.g. a ZTF candid) makes re-sent alerts recognisable."""

    model_config = ConfigDict(extra="forbid")
    object_id: str = Field(max_length=128)
    mjd: float = Field(description="Time of the observation [MJD].")
    mag: float = Field(description="Magnitude.")
    mag_err: float = Field(description="Magnitude error, > 0.")
    band: str = Field(default=DEFAULT_BAND, max_length=16)
    alert_id: str | None = Field(default=None, max_length=64)

    @field_validator("alert_id", mode="before")
    @classmethod
    def _alert_id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ObservationsResult(BaseModel):
    accepted: int
    duplicates: int
    rebuilt: int
    objects: dict[str, dict[str, Any]]


class ObjectSummary(BaseModel):
    object_id: str
    ra: float
    dec: float
    context: dict[str, float | None]
    n_obs: int
    first_mjd: float | None
    last_mjd: float | None
    probabilities: dict[str, float]
    leading_class: str | None
    leading_prob: float | None
    updated_at: float


class HistoryEntry(BaseModel):
    step: int
    mjd: float
    probabilities: dict[str, float]


class ObjectDetail(ObjectSummary):
    history: list[HistoryEntry]
    observations: list[dict[str, Any]]
    upper_limits: list[dict[str, Any]]


class Candidate(ObjectSummary):
    prob: float
