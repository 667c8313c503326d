"""Part 2: a small CNN on MNIST, verified data to exported model.

Modules, one job each: :mod:`~nnbook.mnist.data` (verified loading, augmentation, digit grids),
:mod:`~nnbook.mnist.models` (the networks, receptive fields), :mod:`~nnbook.mnist.train`
(resumable training), :mod:`~nnbook.mnist.evaluate` (test accuracy, checkpoints, export),
:mod:`~nnbook.mnist.device` (device choice). ``python -m nnbook.mnist --help`` for the commands.
"""
