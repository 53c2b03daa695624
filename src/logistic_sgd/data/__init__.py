"""The datasets: every source ends as the original tutorial's three ``(x, y)`` splits.

- :mod:`.sources`: which reader a file or folder wants, and the splits a source lacks;
- :mod:`.formats`: one reader module a file format; :mod:`.layouts`: the memory-mappable layouts;
- :mod:`.rows`: the kinds of rows besides plain arrays (bytes seen as floats, sparse rows);
- :mod:`.checks`, :mod:`.labels`, :mod:`.splits`, :mod:`.scaling`: what every source goes through;
- :mod:`.datasets`, :mod:`.download`: the named datasets and their downloads;
- :mod:`.inputs`: examples to classify.
"""

from .checks import Datasets, Split, as_features, n_classes
from .rows import CSR, ScaledArray
from .sources import LoadedData, align_classes, load_data, open_dataset, read_path, read_single

__all__ = [
    "CSR",
    "Datasets",
    "LoadedData",
    "ScaledArray",
    "Split",
    "align_classes",
    "as_features",
    "load_data",
    "n_classes",
    "open_dataset",
    "read_path",
    "read_single",
]
