"""nnbook: the code behind the book *Backpropagation by hand, then a CNN on MNIST*.

The book explains, this package computes. Part 1 lives in :mod:`nnbook.tiny` (the 2-2-2 network)
and its companions; Part 2 in :mod:`nnbook.mnist`.
"""

__version__ = "0.1.0"
