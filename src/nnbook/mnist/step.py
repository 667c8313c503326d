"""One training step, everything on the device: forward, loss, backward, SGD update, schedule.

The step never waits for the host. The learning rate of step ``k`` is read from a table on the
device (computed once from PyTorch's ``OneCycleLR``), the epoch's loss and accuracy are summed
on the device, and a loss that stops being finite is recorded there (the first bad step's
number) instead of being checked with ``.item()``, which would stall a GPU at every step: the
caller reads all of it once, at the end of the epoch.

Because nothing in the step depends on the host, on a CUDA GPU the whole step can be captured
once as a CUDA graph and replayed: one launch per step instead of a hundred small ones. If
capture is refused, :class:`Stepper` warns in one line and runs the same step eagerly.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from nnbook.mnist.device import Precision

__all__ = ["Stepper", "LossFn"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class Stepper:
    """Runs training steps of ``model`` with ``optimizer``, whose learning rate is the 0-dim
    device tensor ``lr``, set at step ``k`` to ``lr_table[k]``.

    ``loss_fn`` maps (scores, labels) to the mean loss (cross-entropy by default; a test can
    pass one that turns NaN to provoke a divergence). ``graph``: ``"auto"`` captures a CUDA graph
    on CUDA GPUs (fp32 or bf16; fp16 stays eager: its gradient scaler keeps Python bookkeeping
    that a replayed graph would skip, and no capture of it was ever checked on a GPU),
    ``"off"`` never does.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        lr: torch.Tensor,
        lr_table: torch.Tensor,
        precision: Precision,
        *,
        loss_fn: LossFn = F.cross_entropy,
        graph: str = "auto",
        first_step: int = 0,
    ) -> None:
        if graph not in ("auto", "off"):
            raise ValueError(f"graph must be 'auto' or 'off', not {graph!r}")
        self.model, self.optimizer, self.lr, self.lr_table = model, optimizer, lr, lr_table
        self.precision, self.loss_fn = precision, loss_fn
        self.device = lr.device
        self.channels_last = self.device.type in ("cpu", "cuda")  # cuDNN and oneDNN both prefer it
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=precision.needs_scaler)
        dev = self.device
        self.step_index = torch.tensor(first_step, dtype=torch.int64, device=dev)  # global step counter
        # float64 sums where the device has it (Apple's MPS has no float64)
        self.loss_sum = torch.zeros((), dtype=torch.float32 if dev.type == "mps" else torch.float64, device=dev)
        self.correct = torch.zeros((), dtype=torch.int64, device=dev)
        self.first_bad = torch.full((), -1, dtype=torch.int64, device=dev)  # -1: every loss finite
        self.want_graph = graph == "auto" and dev.type == "cuda" and not precision.needs_scaler
        self.graph: torch.cuda.CUDAGraph | None = None
        self.mode = "eager"  # becomes "cuda-graph" once a capture succeeded
        self._static: tuple[torch.Tensor, torch.Tensor] | None = None

    # -- the step itself -------------------------------------------------------------------

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """The whole step; every operation is a device operation, none reads a value back."""
        # index_select, not lr_table[step_index]: indexing by a 0-dim tensor reads it on the host
        self.lr.copy_(torch.index_select(self.lr_table, 0, self.step_index.view(1)).view(()))
        dtype = self.precision.autocast_dtype
        # cache_enabled=False: autocast's cache of cast weights must not outlive a graph capture
        autocast = (torch.autocast(self.device.type, dtype=dtype, cache_enabled=False) if dtype is not None
                    else contextlib.nullcontext())
        with autocast:
            scores = self.model(x)
        loss = self.loss_fn(scores.float(), y)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        finite = torch.isfinite(loss)
        self.first_bad.copy_(torch.where((self.first_bad < 0) & ~finite, self.step_index, self.first_bad))
        self.loss_sum.add_(loss.detach().to(self.loss_sum.dtype) * y.shape[0])
        self.correct.add_((scores.argmax(1) == y).sum())
        self.step_index.add_(1)

    def step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """One training step on the batch ``(x, y)`` (already on the device)."""
        x = self._layout(x)
        if self.graph is not None and self._static is not None and x.shape == self._static[0].shape:
            self._static[0].copy_(x)
            self._static[1].copy_(y)
            self.graph.replay()
            return
        self.optimizer.zero_grad(set_to_none=True)
        self._step(x, y)

    # -- epoch statistics, read once per epoch ------------------------------------------------

    def reset_epoch(self) -> None:
        """Zero the epoch's sums (device operations, no wait)."""
        self.loss_sum.zero_()
        self.correct.zero_()

    def epoch_stats(self) -> tuple[float, int, int]:
        """(summed loss, number correct, first non-finite step or -1): the epoch's one wait."""
        return float(self.loss_sum.item()), int(self.correct.item()), int(self.first_bad.item())

    # -- CUDA graph ---------------------------------------------------------------------------

    def capture(self, batch_shape: tuple[int, ...]) -> None:
        """On a CUDA GPU (and unless ``graph="off"``), capture the step for batches of ``batch_shape``.

        Called before the first epoch is seeded, so the warm-up's random numbers are not taken
        from any epoch's: a resumed run's epochs then replay an uninterrupted run's exactly.
        """
        if not self.want_graph:
            return
        x = torch.zeros(batch_shape, dtype=torch.float32, device=self.device)
        y = torch.zeros(batch_shape[0], dtype=torch.int64, device=self.device)
        self._capture(self._layout(x), y)

    def _capture(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Capture ``_step`` as a CUDA graph, leaving model, optimizer and counters as they were.

        Capture needs a few warm-up steps first (cuDNN picks its kernels, the optimizer creates
        its momentum buffers); those steps really update the weights, so everything they touch
        is saved before and copied back after. A refused capture falls back to eager steps.
        """
        self.want_graph = False
        saved = self._snapshot()
        static_x, static_y = x.clone(), y.clone()
        try:
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                for _ in range(3):
                    self.optimizer.zero_grad(set_to_none=True)
                    self._step(static_x, static_y)
            torch.cuda.current_stream(self.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            self.optimizer.zero_grad(set_to_none=True)  # backward then writes grads in the graph's pool
            with torch.cuda.graph(graph):
                self._step(static_x, static_y)
        except Exception as exc:  # any refusal: the eager step is the same computation
            warnings.warn(f"CUDA graph capture failed ({type(exc).__name__}: {exc}); training with eager steps",
                          RuntimeWarning, stacklevel=3)
            self.graph = None
        else:
            self.graph, self._static, self.mode = graph, (static_x, static_y), "cuda-graph"
        finally:
            self._restore(saved)

    def _momentum_buffers(self) -> list[torch.Tensor]:
        return [s["momentum_buffer"] for s in self.optimizer.state.values()
                if isinstance(s.get("momentum_buffer"), torch.Tensor)]

    def _snapshot(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        tensors = [*self.model.parameters(), *self.model.buffers(), *self._momentum_buffers(),
                   self.step_index, self.loss_sum, self.correct, self.first_bad, self.lr]
        return [(t, t.detach().clone()) for t in tensors]

    def _restore(self, saved: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        with torch.no_grad():
            restored = {id(t) for t, _ in saved}
            # momentum buffers the warm-up created: zero is what a first step starts from, since
            # SGD's first step sets buf = grad, and buf = 0.9 * 0 + grad is the same
            for buf in self._momentum_buffers():
                if id(buf) not in restored:
                    buf.zero_()
            for tensor, value in saved:
                tensor.copy_(value)
