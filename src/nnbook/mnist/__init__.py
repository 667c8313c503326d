"""Part 2: a small CNN on MNIST, verified data to exported model, on the CPU or a GPU.

One job per module: :mod:`~nnbook.mnist.config` (settings, named recipes),
:mod:`~nnbook.mnist.data` (verified loading, per-epoch shuffling and rotation, digit grids),
:mod:`~nnbook.mnist.models` (the networks, receptive fields), :mod:`~nnbook.mnist.device`
(device and precision), :mod:`~nnbook.mnist.schedule` (optimizer, one-cycle rates),
:mod:`~nnbook.mnist.step` (the training step, device-side statistics, CUDA graph),
:mod:`~nnbook.mnist.runfolder` (locking, atomic checkpoints, resume state),
:mod:`~nnbook.mnist.train` (the loop), :mod:`~nnbook.mnist.evaluate` (test accuracy, confusion
matrix), :mod:`~nnbook.mnist.checkpoint` (loading, TorchScript export), :mod:`~nnbook.mnist.onnx_export`
(the ONNX export, run by onnxruntime), :mod:`~nnbook.mnist.fold` (BatchNorm
folded into the convolutions), :mod:`~nnbook.mnist.drawing` (a drawing made MNIST-like),
:mod:`~nnbook.mnist.web` (the weights for the page's JavaScript), :mod:`~nnbook.mnist.history` and
:mod:`~nnbook.mnist.results` (what the committed runs say), :mod:`~nnbook.mnist.chapter` (how
much a chapter trains). ``python -m nnbook.mnist --help`` for the commands.
"""
