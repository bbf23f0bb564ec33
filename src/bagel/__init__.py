"""bagel: build a clean, multi-format instruction-tuning mix and fine-tune on it."""

__version__ = "0.1.0"
