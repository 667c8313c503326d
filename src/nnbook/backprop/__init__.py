"""Part 1: backpropagation by hand on the classic 2-2-2 sigmoid network.

One job per module:

* :mod:`~nnbook.backprop.problem`: the training example and starting weights (``Problem``, ``CLASSIC``);
* :mod:`~nnbook.backprop.formulas`: the forward and chain-rule formulas, for floats or sympy symbols;
* :mod:`~nnbook.backprop.network`: forward pass, gradients, one step, training (the spreadsheet table);
* :mod:`~nnbook.backprop.matrix`: the same network with weight matrices and delta vectors;
* :mod:`~nnbook.backprop.checks`: torch autograd, finite differences and sympy as referees;
* :mod:`~nnbook.backprop.cost`: what backpropagation saves over finite differences, counted and timed;
* :mod:`~nnbook.backprop.sheet`: the table as CSV and as an .xlsx of live formulas;
* :mod:`~nnbook.backprop.sweep`: training at many learning rates, to compare where they end;
* :mod:`~nnbook.backprop.tables`: how the chapters show tables of numbers;
* :mod:`~nnbook.backprop.diagram` and :mod:`~nnbook.backprop.plots`: the chapters' figures;
* :mod:`~nnbook.backprop.validate`: the argument checks they all share.

Nothing is imported here, so ``import nnbook.backprop.network`` loads neither torch nor sympy.
"""
