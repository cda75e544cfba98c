"""A host the guest cannot reach (issue #12): rows of
reliability.py, which runs them; they use its helpers through __main__."""
from __main__ import *  # noqa: F401,F403  (check, Project, Watch, run_caller, ...)

ROWS = []
