"""Evaluation of the assistant's understanding (``python -m bot eval``, contract section 1)."""
