"""German NLU support: text normalisation, the spaCy pipeline, the training-data generator."""
