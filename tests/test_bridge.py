"""The bridge's hand computations against referees that share no code with them.

Torch autograd (float64) and central finite differences on random inputs, sympy where it fits;
plus the classic write-up's published error, and the bad-input messages.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnbook.bridge import checks, conv, latex, minibatch, network, pooling, reduce, softmax
from nnbook.bridge.network import CLASSIC, CLASSIC_INPUTS, CLASSIC_TARGETS, OUTPUTS, Params
from nnbook.errors import UsageError

SEEDS = range(5)


def random_case(seed: int) -> tuple[Params, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = rng.dirichlet([1.0, 1.0])  # a distribution, so both output layers accept it
    return Params.from_vector(rng.normal(0, 1.5, 12)), rng.uniform(-2, 2, 2), t


# ----------------------------------------------------------------------------------------------
# the 2-2-2 network with biases
# ----------------------------------------------------------------------------------------------

def test_classic_with_biases_reproduces_the_published_error() -> None:
    assert abs(network.forward(CLASSIC).E - 0.298371109) < 1e-9  # the write-up's E_total


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("seed", SEEDS)
def test_network_gradients_match_autograd_and_finite_differences(seed: int, output: str) -> None:
    params, x, t = random_case(seed)
    hand = network.gradients(params, x, t, output).vector()
    E_auto, auto = checks.autograd_network(params, x, t, output)
    assert abs(network.forward(params, x, t, output).E - E_auto) < 1e-13
    np.testing.assert_allclose(hand, auto, rtol=1e-12, atol=1e-15)
    fd = checks.finite_differences(lambda v: network.forward(Params.from_vector(v), x, t, output).E,
                                   params.vector())
    np.testing.assert_allclose(hand, fd, rtol=0, atol=1e-8)


@pytest.mark.parametrize("output", OUTPUTS)
def test_network_gradients_match_sympy_at_a_random_point(output: str) -> None:
    params, x, t = random_case(42)
    np.testing.assert_allclose(network.gradients(params, x, t, output).vector(),
                               checks.sympy_network(params, x, t, output), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("output", OUTPUTS)
def test_bias_gradient_is_the_delta_symbolically_and_numerically(output: str) -> None:
    assert all(r == 0 for r in checks.symbolic_bias_residuals(output).values())
    case = random_case(3)
    g = network.gradients(*case, output)
    _, auto = checks.autograd_network(*case, output)  # the biases are entries 8..11 of PARAM_NAMES
    np.testing.assert_allclose(np.concatenate([g.delta_h, g.delta_o]), auto[8:12], rtol=1e-12, atol=1e-15)


def test_training_follows_autograd_steps_and_holding_biases_keeps_them() -> None:
    params, x, t = random_case(7)
    for output in OUTPUTS:
        table = network.train(params, 0.3, 20, x, t, output)
        v = params.vector()
        for _ in range(20):
            v = v - 0.3 * checks.autograd_network(Params.from_vector(v), x, t, output)[1]
        np.testing.assert_allclose(table.iloc[-1][list(network.PARAM_NAMES)].to_numpy(float), v, atol=1e-12)
    held = network.train(CLASSIC, 0.5, 5, train_biases=False)
    assert (held[["b_h1", "b_h2", "b_o1", "b_o2"]].nunique() == 1).all()
    assert held["w1"].nunique() == 6


def test_cross_entropy_escapes_a_saturated_start_much_faster() -> None:
    start = Params(CLASSIC.W1, CLASSIC.b_h, CLASSIC.W2, [4.0, -4.0])
    se = network.train(start, 0.5, 10, output="sigmoid")["squared_error"]
    ce = network.train(start, 0.5, 10, output="softmax")["squared_error"]
    assert se.iloc[-1] > 0.95 * se.iloc[0] and ce.iloc[-1] < 0.01 * ce.iloc[0]


def test_network_bad_input_is_named() -> None:
    with pytest.raises(UsageError, match="W1 must have shape 2x2"):
        Params(np.zeros(3), np.zeros(2), np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(UsageError, match="output must be one of"):
        network.forward(output="tanh")
    with pytest.raises(UsageError, match="inputs must be finite"):
        network.forward(inputs=[np.nan, 0.1])
    with pytest.raises(UsageError, match="eta"):
        network.train(eta=-1)
    with pytest.raises(UsageError, match="n_steps must be >= 0"):  # the argument's own name
        network.train(n_steps=-1)
    with pytest.raises(UsageError, match="targets must be a probability distribution"):
        softmax.delta([0.0, 1.0], [0.5, 0.6])
    # the network's softmax delta p - t holds only for a distribution: other targets are refused,
    # not answered with a wrong gradient (with sigmoid outputs any targets are fine)
    for call in (lambda: network.gradients(targets=[0.5, 0.7], output="softmax"),
                 lambda: network.train(targets=[0.5, 0.7], output="softmax", n_steps=1),
                 lambda: minibatch.per_example_gradients(CLASSIC, targets=[[0.5, 0.7]] * 4, output="softmax")):
        with pytest.raises(UsageError, match="targets must be a probability distribution"):
            call()
    assert np.isfinite(network.gradients(targets=[0.5, 0.7]).vector()).all()
    fw = network.forward(CLASSIC, CLASSIC_INPUTS, CLASSIC_TARGETS)
    with pytest.raises(UsageError, match="output must be one of"):  # a typo is not quietly the softmax
        network.backward(CLASSIC, fw, CLASSIC_INPUTS, CLASSIC_TARGETS, output="Sigmoid")


# ----------------------------------------------------------------------------------------------
# softmax and cross-entropy
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_delta_is_p_minus_t_the_long_way_and_by_autograd(seed: int) -> None:
    rng = np.random.default_rng(seed)
    z, t = rng.normal(0, 3, 6), rng.dirichlet(np.ones(6))
    zt = torch.tensor(z, requires_grad=True)
    loss = -(torch.tensor(t) * torch.log_softmax(zt, 0)).sum()
    loss.backward()
    np.testing.assert_allclose(softmax.delta(z, t), zt.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(softmax.delta_by_chain_rule(z, t), zt.grad.numpy(), rtol=1e-10, atol=1e-14)
    assert abs(softmax.cross_entropy(softmax.softmax(z), t) - float(loss.detach())) < 1e-12
    np.testing.assert_allclose(softmax.jacobian(z), torch.autograd.functional.jacobian(
        lambda s: torch.softmax(s, 0), torch.tensor(z)).numpy(), atol=1e-15)


def test_softmax_symbolic_proof_and_no_overflow() -> None:
    assert checks.symbolic_softmax_residuals(3) == [0, 0, 0]
    p = softmax.softmax([1000.0, 0.0, -1000.0])  # e^1000 overflows; the shift keeps it finite
    assert np.isfinite(p).all() and p[0] == 1.0
    np.testing.assert_allclose(softmax.softmax([1.0, 2.0]), softmax.softmax([101.0, 102.0]), atol=1e-15)


# ----------------------------------------------------------------------------------------------
# minibatches
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_mean_of_per_example_gradients_is_the_batch_gradient(seed: int) -> None:
    rng = np.random.default_rng(seed)
    params = Params.from_vector(rng.normal(0, 1, 12))
    X, T = rng.uniform(0, 1, (5, 2)), rng.uniform(0, 1, (5, 2))
    per = minibatch.per_example_gradients(params, X, T)
    loss, auto = checks.autograd_batch(params, X, T)
    mean = minibatch.mean_gradient(per)
    assert abs(mean["loss"] - loss) < 1e-14
    np.testing.assert_allclose(mean.drop("loss").to_numpy(), auto, rtol=1e-12, atol=1e-15)
    matrix = minibatch.batch_gradients(params, X, T)
    np.testing.assert_allclose(matrix.vector(), auto, rtol=1e-12, atol=1e-15)
    assert abs(matrix.loss - loss) < 1e-14
    table = minibatch.gradient_table(per)
    assert list(table.columns) == ["1", "2", "3", "4", "5", "mean"]
    np.testing.assert_allclose(table.loc[list(network.PARAM_NAMES), "mean"].to_numpy(float), auto, atol=1e-15)


def test_batch_bad_input_is_named() -> None:
    with pytest.raises(UsageError, match="targets"):
        minibatch.per_example_gradients(CLASSIC, np.zeros((3, 2)), np.zeros((2, 2)))


# ----------------------------------------------------------------------------------------------
# convolution, ReLU, pooling
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_convolution_forward_and_backward_match_conv2d_autograd(seed: int) -> None:
    rng = np.random.default_rng(seed)
    X, K = rng.normal(size=(5, 6)), rng.normal(size=(3, 2))
    G = rng.normal(size=(3, 5))
    Y, dX, dK = checks.autograd_conv(X, K, G)
    np.testing.assert_allclose(conv.correlate(X, K), Y, atol=1e-13)
    np.testing.assert_allclose(conv.kernel_gradient(X, G, K.shape), dK, atol=1e-13)
    np.testing.assert_allclose(conv.input_gradient(K, G), dX, atol=1e-13)
    np.testing.assert_allclose(conv.full_convolution(G, K), dX, atol=1e-13)
    np.testing.assert_allclose(conv.correlate(X, G), dK, atol=1e-13)  # dK is X correlated with G
    fd = checks.finite_differences(lambda k: float(np.sum(G * conv.correlate(X, k))), K)
    np.testing.assert_allclose(fd, dK, atol=1e-8)
    terms = conv.kernel_gradient_terms(X, G, K.shape, 1, 1)
    assert len(terms) == G.size and abs(sum(g * x for g, x in terms) - dK[1, 1]) < 1e-12


def test_convolution_written_out_and_bad_shapes() -> None:
    X, K = np.arange(9.0).reshape(3, 3), np.array([[1.0, -2.0], [0.0, 3.0]])
    text = conv.written_out(X, K, 1, 0)
    assert text == r"1 \cdot 3 + (-2) \cdot 4 + 0 \cdot 6 + 3 \cdot 7"
    assert eval(text.replace(r"\cdot", "*")) == conv.correlate(X, K)[1, 0]
    with pytest.raises(UsageError, match="must be non-empty and fit inside"):
        conv.correlate(np.zeros((2, 2)), np.zeros((3, 3)))
    with pytest.raises(UsageError, match="outside the 2x2 output"):
        conv.written_out(X, K, 2, 0)
    # the gradient's helpers refuse what the forward pass refuses, and a kernel position off the kernel
    with pytest.raises(UsageError, match="must be non-empty and fit inside"):
        conv.kernel_gradient(np.zeros((4, 4)), np.zeros((0, 0)), (5, 5))
    with pytest.raises(UsageError, match="kernel_shape must be two integers"):
        conv.kernel_gradient(np.zeros((4, 4)), np.zeros((3, 3)), (2.0, 2))
    G = np.ones(conv.correlate(X, K).shape)
    for a, b in ((-1, 0), (0, 2), (2, 0)):  # -1 would wrap round to the image's last row
        with pytest.raises(UsageError, match=f"kernel position \\({a}, {b}\\) is outside the 2x2 kernel"):
            conv.kernel_gradient_terms(X, G, K.shape, a, b)


@pytest.mark.parametrize("seed", SEEDS)
def test_relu_and_max_pool_backward_match_autograd(seed: int) -> None:
    rng = np.random.default_rng(seed)
    Z, G = rng.normal(size=(6, 4)), rng.normal(size=(3, 2))
    P, dZ = checks.autograd_relu_pool(Z, G)
    A = pooling.relu(Z)
    np.testing.assert_array_equal(pooling.max_pool(A), P)
    np.testing.assert_array_equal(pooling.relu_backward(Z, pooling.max_pool_backward(A, G)), dZ)


def test_relu_passes_no_gradient_at_exactly_zero_like_pytorch() -> None:
    """The slope at z = 0 is a choice; PyTorch's is 0, and the hand rule must be the same."""
    Z = np.array([[0.0, 1.0], [-1.0, 0.0]])
    G = np.array([[5.0, 6.0], [7.0, 8.0]])
    z = torch.tensor(Z, requires_grad=True)
    torch.relu(z).backward(torch.tensor(G))
    np.testing.assert_array_equal(pooling.relu_backward(Z, G), z.grad.numpy())
    np.testing.assert_array_equal(pooling.relu_backward(Z, G), [[0.0, 6.0], [0.0, 0.0]])


def test_max_pool_ties_go_to_the_first_like_pytorch() -> None:
    x = np.array([[1.0, 1.0, 0.0, 2.0], [1.0, 0.0, 2.0, 2.0]])
    g = np.array([[5.0, 7.0]])
    xt = torch.tensor(x[None, None], requires_grad=True)
    F.max_pool2d(xt, 2).backward(torch.tensor(g[None, None]))
    np.testing.assert_array_equal(pooling.max_pool_backward(x, g), xt.grad[0, 0].numpy())
    assert pooling.max_pool_winners(x).sum() == 2


def test_avg_pool_backward_and_bad_shapes() -> None:
    g = np.random.default_rng(0).normal(size=(2, 3))
    xt = torch.zeros((1, 1, 4, 6), dtype=torch.float64, requires_grad=True)
    F.avg_pool2d(xt, 2).backward(torch.tensor(g[None, None]))
    np.testing.assert_allclose(pooling.avg_pool_backward(g), xt.grad[0, 0].numpy(), atol=1e-15)
    with pytest.raises(UsageError, match="even sides"):
        pooling.max_pool(np.zeros((3, 4)))


# ----------------------------------------------------------------------------------------------
# pooling versus stride, global average pooling, 1x1 convolutions
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_output_size_matches_pytorch_layers(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(20):
        n, k, s, p = int(rng.integers(1, 30)), int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(0, 3))
        if k > n + 2 * p:
            with pytest.raises(UsageError, match="does not fit"):
                reduce.output_size(n, k, s, p)
            continue
        x = torch.zeros(1, 1, n, n)
        got = F.conv2d(x, torch.zeros(1, 1, k, k), stride=s, padding=p).shape[-1]
        assert reduce.output_size(n, k, s, p) == got
        if 2 * p <= k:  # PyTorch's pooling allows padding up to half the kernel
            assert reduce.output_size(n, k, s, p) == F.max_pool2d(x, k, stride=s, padding=p).shape[-1]


@pytest.mark.parametrize("seed", SEEDS)
def test_strided_convolution_matches_conv2d_and_subsamples_the_stride_1_one(seed: int) -> None:
    rng = np.random.default_rng(seed)
    X, K, s = rng.normal(size=(7, 9)), rng.normal(size=(3, 2)), int(rng.integers(1, 4))
    ref = F.conv2d(torch.tensor(X[None, None]), torch.tensor(K[None, None]), stride=s)[0, 0].numpy()
    np.testing.assert_allclose(reduce.strided_correlate(X, K, s), ref, atol=1e-13)
    np.testing.assert_allclose(reduce.strided_correlate(X, K, s), conv.correlate(X, K)[::s, ::s], atol=1e-13)
    # a stride-2 kernel of quarters is 2x2 average pooling; max pooling is not any kernel's output
    Z = rng.normal(size=(6, 4))
    avg = F.avg_pool2d(torch.tensor(Z[None, None]), 2)[0, 0].numpy()
    np.testing.assert_allclose(reduce.strided_correlate(Z, np.full((2, 2), 0.25), 2), avg, atol=1e-15)
    assert not np.allclose(pooling.max_pool(Z) + pooling.max_pool(-Z), pooling.max_pool(Z - Z))


@pytest.mark.parametrize("seed", SEEDS)
def test_global_average_pool_and_1x1_convolution_match_pytorch(seed: int) -> None:
    rng = np.random.default_rng(seed)
    M, W, b = rng.normal(size=(5, 4, 3)), rng.normal(size=(3, 5)), rng.normal(size=3)
    Mt = torch.tensor(M[None])
    np.testing.assert_allclose(reduce.global_average_pool(M), F.adaptive_avg_pool2d(Mt, 1)[0, :, 0, 0].numpy(),
                               atol=1e-14)
    y = reduce.conv1x1(M, W, b)
    np.testing.assert_allclose(y, F.conv2d(Mt, torch.tensor(W[:, :, None, None]), torch.tensor(b))[0].numpy(),
                               atol=1e-13)
    np.testing.assert_allclose(y, np.einsum("oc,chw->ohw", W, M) + b[:, None, None], atol=1e-13)
    # the book's head: the order of averaging and the 1x1 map does not matter
    np.testing.assert_allclose(reduce.global_average_pool(y), W @ reduce.global_average_pool(M) + b, atol=1e-13)


@pytest.mark.parametrize("seed", SEEDS)
def test_global_average_pool_backward_matches_autograd(seed: int) -> None:
    rng = np.random.default_rng(seed)
    M, u = rng.normal(size=(4, 3, 5)), rng.normal(size=4)
    Mt = torch.tensor(M[None], requires_grad=True)
    F.adaptive_avg_pool2d(Mt, 1)[0, :, 0, 0].backward(torch.tensor(u))
    np.testing.assert_allclose(reduce.global_average_pool_backward(u, 3, 5), Mt.grad[0].numpy(), rtol=1e-14)
    with pytest.raises(UsageError):
        reduce.global_average_pool_backward(u, 0, 5)


def test_parameter_counts_match_pytorch_layers_and_the_book_model() -> None:
    from nnbook.mnist import models

    for c_in, c_out, k, bias in [(1, 8, 3, False), (16, 8, 1, False), (32, 10, 1, True), (3, 5, 2, True)]:
        assert reduce.conv_parameters(c_in, c_out, k, bias) == models.count_parameters(
            torch.nn.Conv2d(c_in, c_out, k, bias=bias))
    assert reduce.dense_parameters(512, 10) == models.count_parameters(torch.nn.Linear(512, 10))
    assert reduce.dense_parameters(7, 3, bias=False) == models.count_parameters(torch.nn.Linear(7, 3, bias=False))
    net = models.main_model()
    t = models.transition_conv(net)
    assert reduce.conv_parameters(t.in_channels, t.out_channels, 1) == models.count_parameters(t)
    assert reduce.conv_parameters(net[-1][1].in_channels, 10, 1, bias=True) == models.count_parameters(net[-1])


def test_reduce_bad_input_is_named() -> None:
    with pytest.raises(UsageError, match="stride must be an integer >= 1"):
        reduce.output_size(8, 2, 0)
    with pytest.raises(UsageError, match="padding must be an integer >= 0"):
        reduce.output_size(8, 2, 1, -1)
    with pytest.raises(UsageError, match=r"weights \(out channels, in channels\) must have shape nx3"):
        reduce.conv1x1(np.zeros((3, 2, 2)), np.zeros((2, 4)))
    with pytest.raises(UsageError, match="maps must be non-empty"):
        reduce.global_average_pool(np.zeros((2, 0, 3)))
    with pytest.raises(UsageError, match="does not fit"):
        reduce.strided_correlate(np.zeros((2, 2)), np.zeros((3, 1)), 1)


# ----------------------------------------------------------------------------------------------
# display
# ----------------------------------------------------------------------------------------------

def test_latex_matrix() -> None:
    assert latex.matrix([[1, -0.0], [2.5, 3]]) == r"\begin{pmatrix} 1 & 0 \\ 2.5 & 3 \end{pmatrix}"
    assert latex.matrix([1, 2], "{:.2f}") == r"\begin{pmatrix} 1.00 \\ 2.00 \end{pmatrix}"
    assert latex.matrix([-1e-12], "{:.3f}") == r"\begin{pmatrix} 0 \end{pmatrix}"
    small = r"\begin{pmatrix} 4 \times 10^{-6} \\ -1.5 \times 10^{-7} \\ 0.25 \end{pmatrix}"
    assert latex.matrix([4e-6, -1.5e-7, 0.25]) == small  # never e-notation
    with pytest.raises(ValueError, match="vector or a matrix"):
        latex.matrix(np.zeros((2, 2, 2)))


def test_loss_race_figure_has_one_line_per_run() -> None:
    from nnbook.bridge import plots

    runs = {name: network.train(CLASSIC, 0.5, 3, output=name) for name in OUTPUTS}
    fig = plots.plot_loss_race(runs, target=0.01)
    left, right = fig.axes
    assert len(left.lines) == 2 and len(right.lines) == 3  # two runs, and the target line
    np.testing.assert_array_equal(left.lines[1].get_ydata(), runs["softmax"]["squared_error"])


# ----------------------------------------------------------------------------------------------
# Part 2's components: BatchNorm, dropout, the optimiser
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_batchnorm_train_and_eval_match_pytorch(seed: int) -> None:
    from nnbook.bridge import batchnorm

    rng = np.random.default_rng(seed)
    x, gamma, beta = rng.normal(3, 2, 7), float(rng.uniform(0.5, 2)), float(rng.normal())
    bn = torch.nn.BatchNorm1d(1, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.fill_(gamma)
        bn.bias.fill_(beta)
    step = batchnorm.train_step(x, gamma, beta)
    np.testing.assert_allclose(step.y, bn(torch.tensor(x[:, None])).detach().numpy()[:, 0], atol=1e-12)
    assert abs(step.running_mean - float(bn.running_mean[0])) < 1e-14
    assert abs(step.running_var - float(bn.running_var[0])) < 1e-14
    bn.eval()
    np.testing.assert_allclose(batchnorm.evaluate(x, step.running_mean, step.running_var, gamma, beta),
                               bn(torch.tensor(x[:, None])).detach().numpy()[:, 0], atol=1e-12)
    # a constant added to the batch (a bias before the BatchNorm) changes nothing
    np.testing.assert_allclose(batchnorm.train_step(x + 5.0, gamma, beta).y, step.y, atol=1e-12)
    with pytest.raises(UsageError, match="at least two values"):
        batchnorm.train_step([1.0])


@pytest.mark.parametrize("kw", [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True},
                                {"momentum": 0.5, "nesterov": True, "weight_decay": 0.1}, {"weight_decay": 0.3}])
def test_sgd_takes_the_steps_of_torch_optim_sgd(kw: dict) -> None:
    from nnbook.bridge import optim

    rng = np.random.default_rng(0)
    M = rng.normal(size=(3, 3))
    A = M @ M.T + np.eye(3)  # a random bowl 1/2 w^T A w
    w0 = rng.normal(size=3)
    path = optim.sgd(lambda w: A @ w, w0, 0.05, 30, **kw)
    w = torch.tensor(w0, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.05, **kw)
    for k in range(30):
        opt.zero_grad()
        (0.5 * w @ torch.tensor(A) @ w).backward()
        opt.step()
        np.testing.assert_allclose(path[k + 1], w.detach().numpy(), atol=1e-12)
    g = optim.bowl_gradient(w0[:2])
    fd = checks.finite_differences(optim.bowl, w0[:2])
    np.testing.assert_allclose(g, fd, atol=1e-8)


def test_dropout_scales_survivors_and_routes_the_gradient_through_them() -> None:
    from nnbook.bridge import dropout

    rng = np.random.default_rng(0)
    x = rng.normal(size=(50,))
    m = dropout.mask(x.shape, 0.3, rng)
    assert set(np.round(m, 12)) == {0.0, round(1 / 0.7, 12)}
    xt = torch.tensor(x, requires_grad=True)
    up = rng.normal(size=x.shape)
    (xt * torch.tensor(m)).backward(torch.tensor(up))
    np.testing.assert_allclose(dropout.backward(up, m), xt.grad.numpy(), atol=1e-15)
    np.testing.assert_allclose(dropout.forward(x, m), x * m)
    with pytest.raises(UsageError, match="dropout rate"):
        dropout.mask((3,), 1.0, rng)


def test_schedule_and_descent_figures_show_what_they_are_given() -> None:
    from nnbook.bridge import optim, plots

    rates = [0.01, 0.05, 0.1, 0.05, 0.001]
    fig = plots.plot_schedule(rates, 0.9, steps_per_epoch=2)
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), rates)
    np.testing.assert_array_equal(fig.axes[1].lines[0].get_ydata(), [0.9] * 5)
    paths = {"a": optim.sgd(optim.bowl_gradient, [1.0, 1.0], 0.1, 5)}
    fig = plots.plot_descent_paths(paths, optim.bowl)
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_xdata(), paths["a"][:, 0])


@pytest.mark.parametrize("seed", SEEDS)
def test_a_pytorch_training_step_is_the_hand_step(seed: int) -> None:
    from nnbook.bridge import loop

    params, x, t = random_case(seed)
    model = loop.as_model(params)
    np.testing.assert_array_equal(loop.params_of(model).vector(), params.vector())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.7)
    loss = 0.5 * ((torch.tensor(t) - model(torch.tensor(x))) ** 2).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    by_hand = network.train(params, 0.7, 1, x, t).iloc[1][list(network.PARAM_NAMES)].to_numpy(float)
    np.testing.assert_allclose(loop.params_of(model).vector(), by_hand, rtol=0, atol=1e-14)
