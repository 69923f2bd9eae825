"""Trained models from other frameworks' files, as xpusim layer graphs with their weights.

``onnx``: the format PyTorch writes with ``torch.onnx.export`` (``xpusim.load_onnx``, or
``--model onnx:PATH``). Importers read files as data: they never run code from them.
"""
