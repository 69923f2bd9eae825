"""Data sets: the contract (``Dataset``), image loaders from local files and generated
sequence tasks. Nothing is downloaded at run time."""

from .cifar import load_cifar10, read_batch
from .dataset import TASKS, UNSCORED, DataError, Dataset, check_dataset
from .idx import load_fashion_mnist, load_idx, load_mnist, read_idx
from .images import DIGITS_SPLIT_SEED, DIGITS_TEST_FRACTION, load_digits
from .sequences import load_mod_add, load_seq_reverse, load_seq_sort

__all__ = [
    "DIGITS_SPLIT_SEED", "DIGITS_TEST_FRACTION", "TASKS", "UNSCORED", "DataError", "Dataset",
    "check_dataset", "load_cifar10", "load_digits", "load_fashion_mnist", "load_idx",
    "load_mnist", "load_mod_add", "load_seq_reverse", "load_seq_sort", "read_batch", "read_idx",
]
