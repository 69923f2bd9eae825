"""Built-in data sets: images from local files and generated sequence tasks."""

from xpusim import hookimpl
from xpusim.core import DatasetInfo, data

LOADERS = {
    "digits": data.load_digits,
    "idx": data.load_idx,
    "mnist": data.load_mnist,
    "fashion-mnist": data.load_fashion_mnist,
    "cifar10": data.load_cifar10,
    "seq-reverse": data.load_seq_reverse,
    "seq-sort": data.load_seq_sort,
    "mod-add": data.load_mod_add,
}


@hookimpl
def xpusim_register_datasets():
    return [DatasetInfo(name, load, load.__doc__ or "") for name, load in LOADERS.items()]
