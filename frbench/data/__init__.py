"""The dataset stage: synthetic or folder images, split once and stored as arrays.

`write_dataset` builds the dataset of the config's `data` block and writes
`dataset.npz` + `dataset.json`; `load_split` reads one split back as tensors
(`to_float` turns its uint8 form into the model's input a batch at a time);
`check_folder` validates a folder dataset before any job runs.

Modules: `synthetic` (scenes from scikit-image's bundled photos), `folder` (image/mask
pairs from disk), `dataset` (the split, the meta), `store` (the files).
"""

from .dataset import SPLITS, Dataset, Split, build_dataset, content_sha256
from .errors import DataError
from .folder import check_folder, load_folder_pair
from .store import load_split, to_float, write_arrays, write_dataset

__all__ = [
    "SPLITS",
    "DataError",
    "Dataset",
    "Split",
    "build_dataset",
    "check_folder",
    "content_sha256",
    "load_folder_pair",
    "load_split",
    "to_float",
    "write_arrays",
    "write_dataset",
]
