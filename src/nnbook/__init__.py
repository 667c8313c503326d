"""nnbook: the code behind the book *Backpropagation by hand, then a CNN on MNIST*.

The book explains, this package computes. Part 1 lives in :mod:`nnbook.backprop` (the 2-2-2
network by hand), Part 2 in :mod:`nnbook.mnist`; :mod:`nnbook.io`, :mod:`nnbook.paths` and
:mod:`nnbook.errors` serve both.
"""

__version__ = "0.1.0"
