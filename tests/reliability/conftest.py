"""The reliability suite reuses the container fixtures: `conman` (busybox imported) and `clean`."""

from tests.integration.conftest import Conman, clean, conman  # noqa: F401
