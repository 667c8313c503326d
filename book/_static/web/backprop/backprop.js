/* Play with the 2-2-2 network of Part 1 in the page: its weights and learning rate on sliders.
 *
 * The same formulas as nnbook.backprop.network (no biases, sigmoid units, E_total = sum of (t - a)^2 / 2, every
 * weight updated at once by w <- w - eta dE/dw), in plain JavaScript; the browser tests check
 * the page's numbers against the package to 1e-9. It builds its controls into every element with a
 * data-nnbook-backprop attribute: the training chapter's (gradients, eta, steps, slips) when the
 * attribute is empty or "train", the forward-pass chapter's (the weights, every quantity of the forward
 * pass, a nudge) when it is "forward".
 *
 * Page API: window.nnbook.backprop.run({weights, eta, steps, inputs, targets}) returns
 * {loss: [E_total at steps 0..steps], weights: [the 8 weights after the last step],
 *  gradients: [dE_total/dw1..dw8 at step 0]}; each option left out takes the classic exercise's
 * value, and an optional `slips` ({name: true} for names of SLIPS) trains with those mistakes.
 */
(function () {
  "use strict";

  const CLASSIC = {
    weights: [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55],
    eta: 0.5, steps: 100, inputs: [0.05, 0.10], targets: [0.01, 0.99],
  };

  // 1 / (1 + e^-x), exponentiating only -|x| (no overflow), as nnbook.backprop.network.sigmoid
  function sigmoid(x) {
    const z = Math.exp(-Math.abs(x));
    return x >= 0 ? 1 / (1 + z) : z / (1 + z);
  }

  // The forward pass, as in the chapter "The network and the forward pass".
  function forward(w, inputs, targets) {
    const [i1, i2] = inputs, [t1, t2] = targets;
    const h1 = w[0] * i1 + w[1] * i2, h2 = w[2] * i1 + w[3] * i2;
    const a_h1 = sigmoid(h1), a_h2 = sigmoid(h2);
    const o1 = w[4] * a_h1 + w[5] * a_h2, o2 = w[6] * a_h1 + w[7] * a_h2;
    const a_o1 = sigmoid(o1), a_o2 = sigmoid(o2);
    const E1 = (t1 - a_o1) ** 2 / 2, E2 = (t2 - a_o2) ** 2 / 2, E_total = E1 + E2;
    return { h1: h1, a_h1: a_h1, h2: h2, a_h2: a_h2, o1: o1, a_o1: a_o1, o2: o2, a_o2: a_o2, E1: E1, E2: E2,
             E_total: E_total };
  }

  // The common slips of the derivation chapter, which the "break it" boxes switch on.
  const SLIPS = {
    wrongError: "dE/dw7 borrows output 1's error, (a_o1 - t1)",
    onePath: "forget a path: dE/da_h takes output 1's share only",
    netSlope: "sigmoid slope of the net input, o (1 - o), not a (1 - a)",
    updatedWeights: "hidden gradients from the already updated w5..w8",
  };

  // dE_total/dw1..dw8 by the chain rule, as in the derivation chapter; `slips` (optional) switches
  // on the mistakes of SLIPS, `eta` is needed for the updatedWeights slip only.
  function gradients(w, inputs, targets, slips, eta) {
    const s = slips || {};
    const [i1, i2] = inputs, [t1, t2] = targets;
    const f = forward(w, inputs, targets);
    const slope = (a, net) => s.netSlope ? net * (1 - net) : a * (1 - a);
    const delta_o1 = (f.a_o1 - t1) * slope(f.a_o1, f.o1);
    const delta_o2 = (f.a_o2 - t2) * slope(f.a_o2, f.o2);
    const out = [delta_o1 * f.a_h1, delta_o1 * f.a_h2, delta_o2 * f.a_h1, delta_o2 * f.a_h2];
    if (s.wrongError) out[2] = (f.a_o1 - t1) * slope(f.a_o2, f.o2) * f.a_h1;
    // the weights the hidden layer's error flows back through: the old ones, unless the slip is on
    const v = s.updatedWeights ? w.slice(4).map((wk, j) => wk - eta * out[j]) : w.slice(4);
    const dE_da_h1 = s.onePath ? delta_o1 * v[0] : delta_o1 * v[0] + delta_o2 * v[2];
    const dE_da_h2 = s.onePath ? delta_o1 * v[1] : delta_o1 * v[1] + delta_o2 * v[3];
    const delta_h1 = dE_da_h1 * slope(f.a_h1, f.h1), delta_h2 = dE_da_h2 * slope(f.a_h2, f.h2);
    return [delta_h1 * i1, delta_h1 * i2, delta_h2 * i1, delta_h2 * i2].concat(out);
  }

  // The check the slips fail: central finite differences of E_total, step 1e-6.
  function finiteDifferences(w, inputs, targets) {
    const h = 1e-6;
    return w.map((_, k) => {
      const up = w.slice(), down = w.slice();
      up[k] += h;
      down[k] -= h;
      return (forward(up, inputs, targets).E_total - forward(down, inputs, targets).E_total) / (2 * h);
    });
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
    const first = gradients(w, inputs, targets, o.slips, o.eta);
    for (let k = 0; k < o.steps; k++) {
      const g = k === 0 ? first : gradients(w, inputs, targets, o.slips, o.eta);
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
.nnbook-backprop .grid { display: grid; grid-template-columns: 3rem 1fr 3.5rem 10rem 10rem; gap: 0.15rem 0.6rem;
  align-items: center; max-width: 50rem; }
.nnbook-backprop .check.fail { color: #c44e52; font-weight: bold; }
.nnbook-backprop .slips label { display: block; }
.nnbook-backprop svg text { font: 13px sans-serif; }
.nnbook-backprop .head { font-weight: bold; }
.nnbook-backprop input[type=range] { width: 100%; }
.nnbook-backprop .grad.up { color: #c44e52; } .nnbook-backprop .grad.down { color: #4c72b0; }
.nnbook-backprop .block { margin-top: 0.8rem; }
.nnbook-backprop canvas { border: 1px solid #888; max-width: 100%; }
.nnbook-backprop select, .nnbook-backprop input[type=number] { width: 6rem; }
.nnbook-backprop .grid.forward { grid-template-columns: 3rem 1fr 3.5rem; max-width: 30rem; }
.nnbook-backprop table.forward-values td { padding: 0.05rem 0.8rem 0.05rem 0; }
.nnbook-backprop table.forward-values { margin-left: 0; margin-right: 0; }
.nnbook-backprop table.forward-values tr[data-quantity=E_total] { font-weight: bold; }
.nnbook-backprop .note { opacity: 0.75; }
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

  // A labelled range input and the cells of its grid row: its value, then (unless `short`) two more.
  function slider(grid, label, min, max, step, value, cls, short) {
    element("label", { text: label }, grid);
    const input = element("input", { type: "range", min: min, max: max, step: step, value: value, class: cls,
                                     "aria-label": label }, grid);
    const shown = element("span", { class: cls + "-value" }, grid);
    if (short) return { input: input, shown: shown };
    const extra = element("span", { class: cls + "-extra" }, grid);
    const check = element("span", { class: cls + "-check" }, grid);
    return { input: input, shown: shown, extra: extra, check: check };
  }

  // The network drawn as in Part 1: inputs left, outputs right, "1" above "2".
  const NEURONS = { i1: [0, 0], i2: [0, 1], h1: [1, 0], h2: [1, 1], o1: [2, 0], o2: [2, 1] };
  const EDGES = [["i1", "h1"], ["i2", "h1"], ["i1", "h2"], ["i2", "h2"],
                 ["h1", "o1"], ["h2", "o1"], ["h1", "o2"], ["h2", "o2"]];
  const SVG = "http://www.w3.org/2000/svg";
  const place = (name) => [50 + 170 * NEURONS[name][0], 35 + 110 * NEURONS[name][1]];

  function svgElement(tag, attributes, parent) {
    const el = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, value);
    parent.appendChild(el);
    return el;
  }

  function drawDiagram(parent) {
    const svg = svgElement("svg", { width: 440, height: 180, viewBox: "0 0 440 180", class: "diagram" }, parent);
    EDGES.forEach(([from, to], k) => {
      const [x1, y1] = place(from), [x2, y2] = place(to);
      svgElement("line", { x1: x1, y1: y1, x2: x2, y2: y2, class: "edge", "data-weight": "w" + (k + 1) }, svg);
      const t = k % 2 === 0 ? 0.3 : 0.7;  // labels apart where edges cross
      svgElement("text", { x: x1 + t * (x2 - x1), y: y1 + t * (y2 - y1) - 4, "text-anchor": "middle" }, svg)
        .textContent = "w" + (k + 1);
    });
    for (const name of Object.keys(NEURONS)) {
      const [x, y] = place(name);
      svgElement("circle", { cx: x, cy: y, r: 18, fill: "#fde7c8", stroke: "#555" }, svg);
      svgElement("text", { x: x, y: y + 5, "text-anchor": "middle" }, svg).textContent = name;
    }
    return svg;
  }

  // Edges coloured by the sign of `values` (red: positive, blue: negative), widths by their size.
  function colourDiagram(svg, values) {
    const top = Math.max.apply(null, values.map(Math.abs)) || 1;
    svg.querySelectorAll("line.edge").forEach((line, k) => {
      line.setAttribute("stroke", values[k] > 0 ? "#c44e52" : "#4c72b0");
      line.setAttribute("stroke-width", (1 + 7 * Math.abs(values[k]) / top).toFixed(3));
    });
  }

  // The nudge-a-weight control of both pages: choose a weight and ε; returns show(w, inputs,
  // targets, E, slopes), which writes the actual change of E_total when that weight moves by ε
  // next to the slope's prediction. `explain` (the forward page, before the derivation) adds the
  // change per unit of the weight and says where the slope comes from.
  function nudgeControl(root, explain) {
    const nudge = element("div", { class: "block nudge" }, root);
    element("label", { text: "Nudge " }, nudge);
    const which = element("select", { class: "nudge-weight", "aria-label": "weight to nudge" }, nudge);
    CLASSIC.weights.forEach((_, k) => element("option", { value: k, text: "w" + (k + 1) }, which));
    element("label", { text: " by ε = " }, nudge);
    const epsilon = element("input", { type: "number", value: 0.01, step: 0.001, class: "nudge-epsilon",
                                       "aria-label": "epsilon" }, nudge);
    const nudged = element("div", { class: "nudge-result" }, nudge);
    return function show(w, inputs, targets, E, slopes) {
      const j = parseInt(which.value, 10), eps = parseFloat(epsilon.value), name = "w" + (j + 1);
      nudged.innerHTML = "";
      if (!(Number.isFinite(eps) && eps !== 0)) {
        element("div", { class: "note", text: "ε must be a number other than 0" }, nudged);
        return;
      }
      const moved = w.slice();
      moved[j] += eps;
      const actual = forward(moved, inputs, targets).E_total - E;
      element("div", { class: "nudge-actual", text: "actual change of E_total: " + fmt(actual) }, nudged);
      if (explain) {
        element("div", { class: "nudge-ratio", text: "change per unit of " + name + ", ΔE_total / ε: " +
                                                     fmt(actual / eps) }, nudged);
      }
      element("div", { class: "nudge-predicted", text: "predicted, ∂E_total/∂" + name + " × ε: " +
                                                       fmt(slopes[j] * eps) }, nudged);
      if (explain) {
        element("div", { class: "note", text: "The prediction uses the derivative ∂E_total/∂" + name +
                         ", which the next chapter derives; the smaller ε, the closer the two." }, nudged);
      }
    };
  }

  // The training chapter's controls. (Its slopes are the gradients with any "break it" slip on, so
  // a slipped derivation shows in the nudge too.)
  function mount(root) {
    const grid = element("div", { class: "grid" }, root);
    ["", "", "value", "dE_total/dw", "finite-difference check"].forEach((t) => element("span", { class: "head", text: t }, grid));
    const weights = CLASSIC.weights.map((w, k) => slider(grid, "w" + (k + 1), -3, 3, 0.01, w, "weight"));
    const eta = slider(grid, "η", 0.05, 10, 0.05, CLASSIC.eta, "eta");
    const steps = slider(grid, "steps", 1, 1000, 1, CLASSIC.steps, "steps");

    const slipsBlock = element("div", { class: "block slips" }, root);
    element("div", { text: "Break it: switch on a slip of the derivation chapter and watch the check fail" },
            slipsBlock);
    const slipBoxes = {};
    for (const [name, text] of Object.entries(SLIPS)) {
      const label = element("label", {}, slipsBlock);
      slipBoxes[name] = element("input", { type: "checkbox", class: "slip", "data-slip": name }, label);
      label.appendChild(document.createTextNode(" " + text));
    }

    const diagram = element("div", { class: "block" }, root);
    const svg = drawDiagram(diagram);
    element("div", { text: "Each edge coloured by the sign of its dE_total/dw (red: raising the weight raises " +
                           "the error, blue: lowers it), its width by the gradient's size" }, diagram);

    const summary = element("div", { class: "block summary" }, root);
    const curveFigure = element("div", { class: "block" }, root);
    const curve = element("canvas", { width: 640, height: 220, class: "curve" }, curveFigure);
    element("div", { text: "E_total at every step (the dot: the step chosen below)" }, curveFigure);
    const scrub = element("div", { class: "block" }, root);
    element("label", { text: "Step " }, scrub);
    const step = element("input", { type: "range", min: 0, max: CLASSIC.steps, step: 1, value: 0, class: "scrub",
                                    "aria-label": "step" }, scrub);
    const at = element("div", { class: "at-step" }, scrub);

    const showNudge = nudgeControl(root, false);

    function update() {
      const w = weights.map((s) => parseFloat(s.input.value));
      const slips = {};
      for (const [name, box] of Object.entries(slipBoxes)) slips[name] = box.checked;
      const options = { weights: w, eta: parseFloat(eta.input.value), steps: parseInt(steps.input.value, 10),
                        slips: slips };
      const h = history(options);
      const fd = finiteDifferences(w, h.inputs, h.targets);
      weights.forEach((s, k) => {
        s.shown.textContent = w[k].toFixed(2);
        s.extra.textContent = fmt(h.gradients[k]);
        s.extra.className = "grad " + (h.gradients[k] > 0 ? "up" : "down");
        const ok = Math.abs(h.gradients[k] - fd[k]) <= 1e-7;
        s.check.textContent = ok ? "✓ agrees" : "✗ " + fd[k].toPrecision(6);
        s.check.className = "check " + (ok ? "pass" : "fail");
      });
      colourDiagram(svg, h.gradients);
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

      showNudge(w, h.inputs, h.targets, h.loss[0], h.gradients);
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

  // The forward-pass chapter's controls: the eight weights, every quantity of the forward pass
  // recomputed as they move, the network drawn with its weights and activations, and a nudge. Nothing
  // of the later chapters but the gradient's prediction in the nudge, marked as such.
  function mountForward(root) {
    const grid = element("div", { class: "grid forward" }, root);
    ["", "", "value"].forEach((t) => element("span", { class: "head", text: t }, grid));
    const weights = CLASSIC.weights.map((w, k) => slider(grid, "w" + (k + 1), -3, 3, 0.01, w, "weight", true));

    const diagram = element("div", { class: "block" }, root);
    const svg = drawDiagram(diagram);
    svg.setAttribute("height", 200);  // room for the activations under the bottom neurons
    svg.setAttribute("viewBox", "0 0 440 200");
    const activations = {};
    for (const name of ["h1", "h2", "o1", "o2"]) {
      const [x, y] = place(name);
      activations[name] = svgElement("text", { x: x, y: y + 34, "text-anchor": "middle", class: "activation" }, svg);
    }
    element("div", { text: "Each edge coloured by the sign of its weight (red: positive, blue: negative), its " +
                           "width by the weight's size; under each neuron its activation" }, diagram);

    const table = element("table", { class: "block forward-values" }, root);
    const cells = {};
    for (const name of Object.keys(forward(CLASSIC.weights, CLASSIC.inputs, CLASSIC.targets))) {
      const row = element("tr", { "data-quantity": name }, table);
      element("td", { text: name }, row);
      cells[name] = element("td", { class: "value" }, row);
    }

    const showNudge = nudgeControl(root, true);

    function update() {
      const w = weights.map((s) => parseFloat(s.input.value));
      const f = forward(w, CLASSIC.inputs, CLASSIC.targets);
      weights.forEach((s, k) => { s.shown.textContent = w[k].toFixed(2); });
      for (const [name, cell] of Object.entries(cells)) cell.textContent = fmt(f[name]);
      colourDiagram(svg, w);
      for (const [name, text] of Object.entries(activations)) text.textContent = f["a_" + name].toFixed(4);

      showNudge(w, CLASSIC.inputs, CLASSIC.targets, f.E_total, gradients(w, CLASSIC.inputs, CLASSIC.targets));
    }

    root.addEventListener("input", update);
    root.addEventListener("change", update);
    update();
  }

  const MODES = { "": mount, train: mount, forward: mountForward };

  window.nnbook = window.nnbook || {};
  window.nnbook.backprop = { run: run, forward: forward, gradients: gradients, SLIPS: SLIPS };

  function mountAll() {
    document.querySelectorAll("[data-nnbook-backprop]").forEach((root) => {
      const mode = root.dataset.nnbookBackprop;
      if (!Object.prototype.hasOwnProperty.call(MODES, mode)) {
        root.textContent = "The controls could not start: data-nnbook-backprop is \"" + mode + "\", not one of " +
          Object.keys(MODES).filter(Boolean).join(", ") + " (or empty)";
        throw new Error("backprop.js: unknown data-nnbook-backprop mode " + JSON.stringify(mode));
      }
      if (!document.getElementById("nnbook-backprop-style")) {
        element("style", { id: "nnbook-backprop-style", text: STYLE }, document.head);
      }
      root.classList.add("nnbook-backprop");
      MODES[mode](root);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
