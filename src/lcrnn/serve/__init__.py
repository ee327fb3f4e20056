"""Real-time classification: light curves classified as their observations arrive.

* :mod:`~lcrnn.serve.incremental` -- one recurrent step per new observation (equal to the batch model);
* :mod:`~lcrnn.serve.store` -- objects, photometry, states and probabilities in one SQL database;
* :mod:`~lcrnn.serve.service` -- model, galaxy catalogue and store together (what HTTP and ingest share);
* :mod:`~lcrnn.serve.app` and :mod:`~lcrnn.serve.routes` -- the HTTP service;
* :mod:`~lcrnn.serve.ingest` -- bulk ingestion of photometry tables and ZTF alerts.

Input enters through the data layer (:mod:`lcrnn.data.tables`) on every route, so a light curve served here
gets the probabilities ``Classifier.predict_proba`` gives it.
"""
