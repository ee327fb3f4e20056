"""Front-door jobs that write to disk, one module each: a training run directory (:mod:`.train_run`), the
main job (:mod:`.reproduce`) and streamed prediction of a catalogue too large for memory
(:mod:`.predict_stream`). Import the module you need; importing this package loads nothing heavy."""
