"""What the build did, for people: the terminal summary, report.html, the dataset card, and push.

- :func:`print_summary`: the table ``bagel build`` prints;
- :func:`write_views`: ``report.html`` and ``README.md`` from a build's out dir (``bagel build``
  and ``bagel report`` call it; same inputs, same bytes);
- :func:`bagel.report.push.push`: upload the out dir to the Hugging Face hub (``bagel push``).
"""

from bagel.report.summary import print_summary
from bagel.report.views import write_views

__all__ = ["print_summary", "write_views"]
