"""Which database the run uses: MEETINGS_TEST_DB=sqlite (the default) or postgres."""

import os

BACKEND = os.environ.get("MEETINGS_TEST_DB", "sqlite")
