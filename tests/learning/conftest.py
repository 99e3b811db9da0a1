# The session-scoped model fixtures, shared by the model tests: pytest finds them in a conftest,
# so the test modules need not import names that their arguments then shadow.
from .model_fixtures import red_blue_data, squares_data, trained_detector  # noqa: F401
