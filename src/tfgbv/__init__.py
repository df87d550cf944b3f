"""tfgbv: detect technology-facilitated gender-based violence in Tajik and Russian comments."""

from tfgbv.labels import LABELS

__version__ = "0.1.0"
__all__ = ["LABELS", "__version__"]
