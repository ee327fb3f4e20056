"""The HTTP routes of the service, one :class:`fastapi.APIRouter` per concern.

* :mod:`~lcrnn.serve.routes.objects` -- register objects, read one, retract, follow-up candidates;
* :mod:`~lcrnn.serve.routes.listing` -- the vetting list: ``GET /objects`` and ``GET /conesearch``;
* :mod:`~lcrnn.serve.routes.observations` -- post detections;
* :mod:`~lcrnn.serve.routes.status` -- liveness, the model's classes, the front page.

Request and response bodies are in :mod:`~lcrnn.serve.routes.bodies`, what the routes share (the service, the
token check, the 422 for input the data layer refuses) in :mod:`~lcrnn.serve.routes.deps`.
"""
