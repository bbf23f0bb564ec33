"""bagel: build a clean, multi-format instruction-tuning mix and fine-tune on it."""

import os

__version__ = "0.1.0"

# Arrow's C++ code (the parquet reader, compute kernels) allocates from its own default pool, not the one
# bagel.memory sets; in the pip wheels that is mimalloc, which kept ~30 MB of freed pages in each build
# process. The pool is chosen when pyarrow loads, so it is named here, before that (a user's choice stands).
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
