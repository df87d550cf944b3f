"""tfgbv: detect technology-facilitated gender-based violence in Tajik and Russian comments.

from tfgbv import Classifier
clf = Classifier.from_pretrained("runs/latest")
clf.predict(["..."])
"""

import logging

from tfgbv.labels import LABELS

# transformers imports torchao (int8 scoring's quantiser) whenever it is installed, and torchao then warns on every
# start that its CUDA kernels cannot load, and torch that two of its enums need no registration: noise on a CPU.
for _name in ("torchao", "torch.utils._pytree"):
    logging.getLogger(_name).setLevel(logging.ERROR)

__version__ = "0.1.0"
__all__ = ["LABELS", "Classifier", "__version__"]


def __getattr__(name: str):
    # Imported lazily so `import tfgbv` (and the data tools) stay fast and torch-free.
    if name == "Classifier":
        from tfgbv.predict.transformer import Classifier

        return Classifier
    raise AttributeError(f"module 'tfgbv' has no attribute {name!r}")
