"""The one exception the model pipeline raises for data it cannot learn from."""


class TrainingError(ValueError):
    """The data cannot train a model (no target column, a target that is not binary or has a single
    class, nothing usable left); the message names the column and says what to fix."""
