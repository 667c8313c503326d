/* Play with the 2-2-2 network of Part 1 in the page: its weights and learning rate on sliders.
 *
 * The same formulas as nnbook.tiny (no biases, sigmoid units, E_total = sum of (t - a)^2 / 2, every
 * weight updated at once by w <- w - eta dE/dw), in plain JavaScript; the browser tests check
 * the page's numbers against the package to 1e-9. It builds its controls into every element with a
 * data-nnbook-backprop attribute.
 *
 * Page API: window.nnbook.backprop.run({weights, eta, steps, inputs, targets}) returns
 * {loss: [E_total at steps 0..steps], weights: [the 8 weights after the last step],
 *  gradients: [dE_total/dw1..dw8 at step 0]}.
 */
(function () {
  "use strict";

  const CLASSIC = {
    weights: [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55],
    eta: 0.5, steps: 100, inputs: [0.05, 0.10], targets: [0.01, 0.99],
  };

  // 1 / (1 + e^-x), exponentiating only -|x| (no overflow), as nnbook.tiny.sigmoid
  function sigmoid(x) {
    const z = Math.exp(-Math.abs(x));
    return x >= 0 ? 1 / (1 + z) : z / (1 + z);
  }

  // The forward pass, as in the chapter "The network and the forward pass".
  function forward(w, inputs, targets) {
    const [i1, i2] = inputs, [t1, t2] = targets;
    const a_h1 = sigmoid(w[0] * i1 + w[1] * i2), a_h2 = sigmoid(w[2] * i1 + w[3] * i2);
    const a_o1 = sigmoid(w[4] * a_h1 + w[5] * a_h2), a_o2 = sigmoid(w[6] * a_h1 + w[7] * a_h2);
    const E_total = (t1 - a_o1) ** 2 / 2 + (t2 - a_o2) ** 2 / 2;
    return { a_h1: a_h1, a_h2: a_h2, a_o1: a_o1, a_o2: a_o2, E_total: E_total };
  }

  // dE_total/dw1..dw8 by the chain rule, as in the derivation chapter.
  function gradients(w, inputs, targets) {
    const [i1, i2] = inputs, [t1, t2] = targets;
    const f = forward(w, inputs, targets);
    const delta_o1 = (f.a_o1 - t1) * f.a_o1 * (1 - f.a_o1);
    const delta_o2 = (f.a_o2 - t2) * f.a_o2 * (1 - f.a_o2);
    const delta_h1 = (delta_o1 * w[4] + delta_o2 * w[6]) * f.a_h1 * (1 - f.a_h1);
    const delta_h2 = (delta_o1 * w[5] + delta_o2 * w[7]) * f.a_h2 * (1 - f.a_h2);
    return [delta_h1 * i1, delta_h1 * i2, delta_h2 * i1, delta_h2 * i2,
            delta_o1 * f.a_h1, delta_o1 * f.a_h2, delta_o2 * f.a_h1, delta_o2 * f.a_h2];
  }

  function numbers(values, length, name) {
    if (!Array.isArray(values) || values.length !== length || !values.every(Number.isFinite)) {
      throw new TypeError("run: " + name + " must be " + length + " finite numbers");
    }
    return values.slice();
  }

  // Gradient descent, every weight at once; the weights and E_total at every step.
  function history(options) {
    const o = Object.assign({}, CLASSIC, options || {});
    let w = numbers(o.weights, 8, "weights");
    const inputs = numbers(o.inputs, 2, "inputs"), targets = numbers(o.targets, 2, "targets");
    if (!(Number.isFinite(o.eta) && o.eta > 0)) throw new RangeError("run: eta must be a positive number");
    if (!(Number.isInteger(o.steps) && o.steps >= 0)) throw new RangeError("run: steps must be a whole number >= 0");
    const weights = [w], loss = [forward(w, inputs, targets).E_total];
    const first = gradients(w, inputs, targets);
    for (let k = 0; k < o.steps; k++) {
      const g = k === 0 ? first : gradients(w, inputs, targets);
      w = w.map((wk, j) => wk - o.eta * g[j]);
      weights.push(w);
      loss.push(forward(w, inputs, targets).E_total);
    }
    return { loss: loss, weights: weights, gradients: first, inputs: inputs, targets: targets };
  }

  function run(options) {
    const h = history(options);
    return { loss: h.loss, weights: h.weights[h.weights.length - 1], gradients: h.gradients };
  }

  // ---- The controls ----

  const STYLE = `
.nnbook-backprop { margin: 1rem 0; font-variant-numeric: tabular-nums; }
.nnbook-backprop .grid { display: grid; grid-template-columns: 5.5rem 1fr 6rem 8.5rem; gap: 0.15rem 0.6rem;
  align-items: center; max-width: 40rem; }
.nnbook-backprop .head { font-weight: bold; }
.nnbook-backprop input[type=range] { width: 100%; }
.nnbook-backprop .grad.up { color: #c44e52; } .nnbook-backprop .grad.down { color: #4c72b0; }
.nnbook-backprop .block { margin-top: 0.8rem; }
.nnbook-backprop canvas { border: 1px solid #888; max-width: 100%; }
.nnbook-backprop select, .nnbook-backprop input[type=number] { width: 6rem; }
`;

  function element(tag, attributes, parent) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (name === "text") el.textContent = value; else el.setAttribute(name, value);
    }
    if (parent) parent.appendChild(el);
    return el;
  }

  const fmt = (x) => x.toPrecision(10);

  function slider(grid, label, min, max, step, value, cls) {
    element("label", { text: label }, grid);
    const input = element("input", { type: "range", min: min, max: max, step: step, value: value, class: cls,
                                     "aria-label": label }, grid);
    const shown = element("span", { class: cls + "-value" }, grid);
    const extra = element("span", { class: cls + "-extra" }, grid);
    return { input: input, shown: shown, extra: extra };
  }

  function mount(root) {
    if (!document.getElementById("nnbook-backprop-style")) {
      element("style", { id: "nnbook-backprop-style", text: STYLE }, document.head);
    }
    root.classList.add("nnbook-backprop");
    const grid = element("div", { class: "grid" }, root);
    ["", "", "value", "dE_total/dw"].forEach((t) => element("span", { class: "head", text: t }, grid));
    const weights = CLASSIC.weights.map((w, k) => slider(grid, "w" + (k + 1), -3, 3, 0.01, w, "weight"));
    const eta = slider(grid, "η", 0.05, 10, 0.05, CLASSIC.eta, "eta");
    const steps = slider(grid, "steps", 1, 1000, 1, CLASSIC.steps, "steps");

    const summary = element("div", { class: "block summary" }, root);
    const curveFigure = element("div", { class: "block" }, root);
    const curve = element("canvas", { width: 640, height: 220, class: "curve" }, curveFigure);
    element("div", { text: "E_total at every step (the dot: the step chosen below)" }, curveFigure);
    const scrub = element("div", { class: "block" }, root);
    element("label", { text: "Step " }, scrub);
    const step = element("input", { type: "range", min: 0, max: CLASSIC.steps, step: 1, value: 0, class: "scrub",
                                    "aria-label": "step" }, scrub);
    const at = element("div", { class: "at-step" }, scrub);

    const nudge = element("div", { class: "block nudge" }, root);
    element("label", { text: "Nudge " }, nudge);
    const which = element("select", { class: "nudge-weight", "aria-label": "weight to nudge" }, nudge);
    CLASSIC.weights.forEach((_, k) => element("option", { value: k, text: "w" + (k + 1) }, which));
    element("label", { text: " by ε = " }, nudge);
    const epsilon = element("input", { type: "number", value: 0.01, step: 0.001, class: "nudge-epsilon",
                                       "aria-label": "epsilon" }, nudge);
    const nudged = element("div", { class: "nudge-result" }, nudge);

    function update() {
      const w = weights.map((s) => parseFloat(s.input.value));
      const options = { weights: w, eta: parseFloat(eta.input.value), steps: parseInt(steps.input.value, 10) };
      const h = history(options);
      weights.forEach((s, k) => {
        s.shown.textContent = w[k].toFixed(2);
        s.extra.textContent = fmt(h.gradients[k]);
        s.extra.className = "grad " + (h.gradients[k] > 0 ? "up" : "down");
      });
      eta.shown.textContent = options.eta.toFixed(2);
      steps.shown.textContent = String(options.steps);
      summary.innerHTML = "";
      element("div", { class: "E-start", text: "E_total now: " + fmt(h.loss[0]) }, summary);
      element("div", { class: "E-end", text: "E_total after " + options.steps + " steps: " +
                                              fmt(h.loss[h.loss.length - 1]) }, summary);

      step.max = options.steps;
      const k = Math.min(parseInt(step.value, 10), options.steps);
      at.textContent = "step " + k + ": E_total = " + fmt(h.loss[k]) + ", weights " +
        h.weights[k].map((v) => v.toFixed(4)).join(", ");
      drawCurve(h.loss, k);

      const j = parseInt(which.value, 10), eps = parseFloat(epsilon.value);
      if (Number.isFinite(eps)) {
        const moved = w.slice();
        moved[j] += eps;
        const actual = forward(moved, h.inputs, h.targets).E_total - h.loss[0];
        nudged.innerHTML = "";
        element("div", { class: "nudge-actual", text: "actual change of E_total: " + fmt(actual) }, nudged);
        element("div", { class: "nudge-predicted", text: "predicted, dE_total/dw × ε: " +
                                                        fmt(h.gradients[j] * eps) }, nudged);
      }
    }

    function drawCurve(loss, k) {
      const ctx = curve.getContext("2d"), W = curve.width, H = curve.height, pad = 10;
      const top = Math.max.apply(null, loss) || 1;
      const x = (i) => pad + (W - 2 * pad) * i / Math.max(1, loss.length - 1);
      const y = (v) => H - pad - (H - 2 * pad) * v / top;
      ctx.clearRect(0, 0, W, H);
      ctx.strokeStyle = "#4c72b0";
      ctx.lineWidth = 2;
      ctx.beginPath();
      loss.forEach((v, i) => (i === 0 ? ctx.moveTo(x(i), y(v)) : ctx.lineTo(x(i), y(v))));
      ctx.stroke();
      ctx.fillStyle = "#dd8452";
      ctx.beginPath();
      ctx.arc(x(k), y(loss[k]), 4, 0, 2 * Math.PI);
      ctx.fill();
    }

    root.addEventListener("input", update);
    root.addEventListener("change", update);
    update();
  }

  window.nnbook = window.nnbook || {};
  window.nnbook.backprop = { run: run, forward: forward, gradients: gradients };

  function mountAll() {
    document.querySelectorAll("[data-nnbook-backprop]").forEach(mount);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
