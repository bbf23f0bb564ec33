"""bagel: build a clean, multi-format instruction-tuning mix and fine-tune on it."""

import os

__version__ = "0.1.0"

# The pool of Arrow's C++ allocations is chosen when pyarrow loads, so it is named here (see bagel.memory);
# a user's choice stands.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
