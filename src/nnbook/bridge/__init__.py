"""From the 2-2-2 network to a CNN, by hand: biases, softmax and cross-entropy, minibatches,
convolution, ReLU and max pooling, strided and 1x1 convolutions and global average pooling
(:mod:`nnbook.bridge.reduce`), each computed with plain NumPy in its own small module.

The reference computations that check them (torch autograd, finite differences, sympy) live
apart, in :mod:`nnbook.bridge.checks`, and share no code with the hand formulas.
"""
