"""Plain-Python core of the Stadtwerk assistant (no rasa_sdk imports).

Packages: ``knowledge`` (FAQ content store), ``nlu`` (training-data generator, German text
normalisation, spaCy pipeline), ``dialogue`` (the answer/clarify/fallback decision),
``evaluation`` (``python -m bot eval``).
"""
