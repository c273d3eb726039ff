"""dst-synth trainer: fine-tunes a causal LM for MultiWOZ dialogue state tracking.

Run as ``python -m dst_trainer {train,predict,convert-multiwoz21}``; see README.md for the
file formats and the JSON-lines progress protocol on stdout.
"""

__version__ = "0.1.0"

# Bumped whenever the prompt/target layout changes, so a model trained on one layout is
# never silently used with another (recorded in dst_trainer.json, checked by predict).
PROMPT_FORMAT_VERSION = 1
