/* Draw a digit for the book's MNIST network, in plain JavaScript (no library, nothing downloaded).
 *
 * digits-weights.js, written when the book is built (nnbook.mnist.web.export_weights), must be loaded
 * first: it sets window.nnbook.digitsNetwork = {layers, float32}, the network with its BatchNorm
 * layers folded into the convolutions. This file reads those weights, runs the forward pass,
 * turns a drawing into an MNIST-like 28x28 input (as nnbook.mnist.drawing.to_mnist does in Python)
 * and builds the drawing pad into every element with a data-nnbook-digits attribute.
 *
 * Page API: window.nnbook.digits.predict(pixels) takes 784 numbers in [0, 1] (row-major 28x28,
 * white digit on black) and returns the 10 scores (logits); window.nnbook.digits.preprocess(canvas)
 * returns the 784 numbers a drawing on a canvas becomes.
 */
(function () {
  "use strict";

  // ---- The weights: base64 float32 numbers, little-endian, each convolution's weights then bias ----

  function readNetwork(stored) {
    const bytes = Uint8Array.from(atob(stored.float32), (ch) => ch.charCodeAt(0));
    const view = new DataView(bytes.buffer);
    let at = 0;
    function take(n) {
      const numbers = new Float32Array(n);
      for (let i = 0; i < n; i++, at += 4) numbers[i] = view.getFloat32(at, true);
      return numbers;
    }
    const layers = stored.layers.map((layer) => layer.type !== "conv" ? layer : Object.assign({}, layer, {
      weight: take(layer.out * layer.in * layer.size * layer.size),  // [out][in][size][size]
      bias: take(layer.out),
    }));
    if (at !== bytes.length) throw new Error("digits.js: the weights file does not match its layer list");
    return layers;
  }

  // ---- The forward pass. A tensor is {c, h, w, data}: channel ch, row y, column x at data[(ch*h + y)*w + x] ----

  // A square convolution without padding, stride 1: each output is the
  // bias plus the weighted sum of a size x size window across all input
  // channels (BatchNorm is already inside the weights and the bias).
  function conv(x, layer) {
    const k = layer.size, h = x.h - k + 1, w = x.w - k + 1;
    const out = new Float64Array(layer.out * h * w);
    for (let o = 0; o < layer.out; o++) {
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          let sum = layer.bias[o];
          for (let i = 0; i < layer.in; i++) {
            for (let dy = 0; dy < k; dy++) {
              for (let dx = 0; dx < k; dx++) {
                const weight = layer.weight[((o * layer.in + i) * k + dy) * k + dx];
                sum += weight * x.data[(i * x.h + y + dy) * x.w + xx + dx];
              }
            }
          }
          out[(o * h + y) * w + xx] = sum;
        }
      }
    }
    return { c: layer.out, h: h, w: w, data: out };
  }

  function relu(x) {
    return { c: x.c, h: x.h, w: x.w, data: x.data.map((v) => Math.max(0, v)) };
  }

  // 2x2 windows, stride 2: the largest of the four values.
  function maxpool(x) {
    const h = Math.floor(x.h / 2), w = Math.floor(x.w / 2);
    const out = new Float64Array(x.c * h * w);
    for (let ch = 0; ch < x.c; ch++) {
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          const at = (ch * x.h + 2 * y) * x.w + 2 * xx;
          out[(ch * h + y) * w + xx] = Math.max(x.data[at], x.data[at + 1], x.data[at + x.w], x.data[at + x.w + 1]);
        }
      }
    }
    return { c: x.c, h: h, w: w, data: out };
  }

  // Global average pooling: one number per channel, the mean of its map.
  function avgpool(x) {
    const out = new Float64Array(x.c), n = x.h * x.w;
    for (let ch = 0; ch < x.c; ch++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += x.data[ch * n + i];
      out[ch] = sum / n;
    }
    return { c: x.c, h: 1, w: 1, data: out };
  }

  const OPERATIONS = { conv: conv, relu: relu, maxpool: maxpool, avgpool: avgpool };
  let network = null;  // read from the weights on first use

  function layers() {
    if (network === null) {
      const stored = window.nnbook && window.nnbook.digitsNetwork;
      if (!stored) throw new Error("digits.js: the network's weights (digits-weights.js) did not load");
      network = readNetwork(stored);
    }
    return network;
  }

  function checkPixels(pixels) {
    if (!pixels || pixels.length !== 784) {
      throw new TypeError("predict takes 784 numbers (a 28x28 image, row by row), got " +
                          (pixels && pixels.length !== undefined ? pixels.length : typeof pixels));
    }
    for (let i = 0; i < 784; i++) {
      if (!(pixels[i] >= 0 && pixels[i] <= 1)) {
        throw new RangeError("predict takes grey levels in [0, 1]; pixel " + i + " is " + pixels[i]);
      }
    }
  }

  // Every layer's output, the last one being the 10 scores.
  function forward(pixels) {
    checkPixels(pixels);
    let x = { c: 1, h: 28, w: 28, data: Float64Array.from(pixels) };
    const outputs = [];
    for (const layer of layers()) {
      x = OPERATIONS[layer.type](x, layer);
      outputs.push(x);
    }
    return outputs;
  }

  function predict(pixels) {
    const outputs = forward(pixels);
    return Array.from(outputs[outputs.length - 1].data);
  }

  function softmax(scores) {
    const top = Math.max.apply(null, scores);
    const e = scores.map((s) => Math.exp(s - top));
    const total = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / total);
  }

  // ---- A drawing made MNIST-like (the same steps as nnbook.mnist.drawing.to_mnist) ----

  const BOX = 20, FRAME = 28, CENTRE = 14;

  // (m x n) weights resampling n pixels to m: row i averages the source interval [i n/m, (i+1) n/m).
  function areaWeights(n, m) {
    const step = n / m, out = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      const lo = i * step, hi = (i + 1) * step;
      for (let j = Math.floor(lo); j < Math.min(n, Math.ceil(hi)); j++) {
        out[i * n + j] = (Math.min(hi, j + 1) - Math.max(lo, j)) / step;
      }
    }
    return out;
  }

  // grey: height*width levels in [0, 1], row by row, white on black. Returns 784 numbers.
  function toMnist(grey, height, width) {
    const out = new Array(FRAME * FRAME).fill(0);
    let top = height, bottom = -1, left = width, right = -1;  // bounding box of the non-zero pixels
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (grey[y * width + x] > 0) {
          top = Math.min(top, y); bottom = Math.max(bottom, y);
          left = Math.min(left, x); right = Math.max(right, x);
        }
      }
    }
    if (bottom < 0) return out;  // nothing drawn
    const h = bottom - top + 1, w = right - left + 1, scale = BOX / Math.max(h, w);
    const th = Math.max(1, Math.floor(h * scale + 0.5)), tw = Math.max(1, Math.floor(w * scale + 0.5));
    const ay = areaWeights(h, th), ax = areaWeights(w, tw);
    // resample the rows, then the columns: small = ay * crop * ax^T
    const rows = new Float64Array(th * w);
    for (let i = 0; i < th; i++) {
      for (let y = 0; y < h; y++) {
        const a = ay[i * h + y];
        if (a === 0) continue;
        for (let x = 0; x < w; x++) rows[i * w + x] += a * grey[(top + y) * width + left + x];
      }
    }
    const small = new Float64Array(th * tw);
    for (let i = 0; i < th; i++) {
      for (let j = 0; j < tw; j++) {
        let sum = 0;
        for (let x = 0; x < w; x++) sum += rows[i * w + x] * ax[j * w + x];
        small[i * tw + j] = sum;
      }
    }
    // centre of mass, then a whole-pixel shift that brings it nearest to (CENTRE, CENTRE)
    let total = 0, cy = 0, cx = 0;
    for (let i = 0; i < th; i++) {
      for (let j = 0; j < tw; j++) {
        const v = small[i * tw + j];
        total += v; cy += i * v; cx += j * v;
      }
    }
    const y0 = Math.min(Math.max(Math.floor(CENTRE - cy / total + 0.5), 0), FRAME - th);
    const x0 = Math.min(Math.max(Math.floor(CENTRE - cx / total + 0.5), 0), FRAME - tw);
    for (let i = 0; i < th; i++) {
      for (let j = 0; j < tw; j++) out[(y0 + i) * FRAME + x0 + j] = Math.min(small[i * tw + j], 1);
    }
    return out;
  }

  // The canvas's grey levels (its red channel: the pad draws white on opaque black).
  function greyLevels(canvas) {
    const pixels = canvas.getContext("2d", { willReadFrequently: true })
      .getImageData(0, 0, canvas.width, canvas.height).data;
    const grey = new Float64Array(canvas.width * canvas.height);
    for (let i = 0; i < grey.length; i++) grey[i] = pixels[4 * i] / 255;
    return grey;
  }

  function preprocess(canvas) {
    return toMnist(greyLevels(canvas), canvas.height, canvas.width);
  }

  // ---- The drawing pad ----

  const PAD = 280, STROKE = 20;
  const STYLE = `
.nnbook-digits { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; margin: 1rem 0; }
.nnbook-digits figure { margin: 0; }
.nnbook-digits .pad-figure { width: ${PAD + 2}px; }
.nnbook-digits .input-figure { width: 114px; }
.nnbook-digits figcaption { font-size: 0.85rem; opacity: 0.75; margin-top: 0.3rem; }
.nnbook-digits canvas { display: block; border: 1px solid #888; }
.nnbook-digits .pad { touch-action: none; cursor: crosshair; width: ${PAD}px; height: ${PAD}px; }
.nnbook-digits .pixelated { image-rendering: pixelated; }
.nnbook-digits button { margin-top: 0.4rem; padding: 0.2rem 1rem; }
.nnbook-digits .bars { flex: 1 1 12rem; min-width: 12rem; font-variant-numeric: tabular-nums; }
.nnbook-digits .bar-row { display: flex; align-items: center; gap: 0.4rem; height: 1.35rem; }
.nnbook-digits .bar-track { flex: 1; background: #eee; height: 0.9rem; }
.nnbook-digits .bar { background: #4c72b0; height: 100%; width: 0; }
.nnbook-digits .bar-row.top .bar { background: #dd8452; }
.nnbook-digits .bar-row.top { font-weight: bold; }
.nnbook-digits .prob { width: 4.5rem; text-align: right; white-space: nowrap; }
.nnbook-digits .answer { font-size: 1.15rem; margin-bottom: 0.4rem; }
.nnbook-digits .maps { display: flex; flex-wrap: wrap; gap: 0.3rem; }
.nnbook-digits .maps-figure { flex-basis: 100%; }
`;

  function element(tag, attributes, parent) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (name === "text") el.textContent = value; else el.setAttribute(name, value);
    }
    if (parent) parent.appendChild(el);
    return el;
  }

  // Paint numbers (row by row) as grey pixels, scaled so that `top` is white.
  function paint(canvas, values, top) {
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(canvas.width, canvas.height);
    for (let i = 0; i < canvas.width * canvas.height; i++) {
      const v = top > 0 ? Math.round(255 * Math.min(values[i] / top, 1)) : 0;
      image.data.set([v, v, v, 255], 4 * i);
    }
    ctx.putImageData(image, 0, 0);
  }

  function mount(root) {
    if (!document.getElementById("nnbook-digits-style")) {
      element("style", { id: "nnbook-digits-style", text: STYLE }, document.head);
    }
    root.classList.add("nnbook-digits");
    const padFigure = element("figure", { class: "pad-figure" }, root);
    const pad = element("canvas", { class: "pad", width: PAD, height: PAD, "aria-label": "drawing pad" }, padFigure);
    const clear = element("button", { type: "button", text: "Clear" }, padFigure);
    element("figcaption", { text: "Draw one digit, large, with the mouse or a finger." }, padFigure);

    const inputFigure = element("figure", { class: "input-figure" }, root);
    const input = element("canvas", { class: "pixelated input", width: 28, height: 28 }, inputFigure);
    input.style.width = input.style.height = "112px";
    element("figcaption", { text: "What the network sees (28 × 28)" }, inputFigure);

    const barsFigure = element("figure", { class: "bars" }, root);
    const answer = element("div", { class: "answer", text: "Draw a digit" }, barsFigure);
    const rows = [];
    for (let d = 0; d < 10; d++) {
      const row = element("div", { class: "bar-row" }, barsFigure);
      element("span", { text: String(d) }, row);
      const bar = element("div", { class: "bar" }, element("div", { class: "bar-track" }, row));
      rows.push({ row: row, bar: bar, prob: element("span", { class: "prob", text: "" }, row) });
    }
    const timing = element("figcaption", { class: "timing", text: "The ten probabilities (softmax of the scores)" },
                           barsFigure);

    const mapsFigure = element("figure", { class: "maps-figure" }, root);
    const maps = element("div", { class: "maps" }, mapsFigure);
    element("figcaption", { text: "The first layer's feature maps: what each of its filters finds (after ReLU)" },
            mapsFigure);
    let mapCanvases = [];

    const ctx = pad.getContext("2d", { willReadFrequently: true });
    function blank() {
      ctx.fillStyle = "#000";
      ctx.fillRect(0, 0, PAD, PAD);
    }

    function show() {
      const pixels = preprocess(pad);
      paint(input, pixels, 1);
      if (!pixels.some((v) => v > 0)) {
        answer.textContent = "Draw a digit";
        rows.forEach((r) => { r.bar.style.width = "0"; r.prob.textContent = ""; r.row.classList.remove("top"); });
        mapCanvases.forEach((c) => paint(c, new Float64Array(c.width * c.height), 0));
        return;
      }
      const started = performance.now();
      const outputs = forward(pixels);
      const elapsed = performance.now() - started;
      const probs = softmax(Array.from(outputs[outputs.length - 1].data));
      const best = probs.indexOf(Math.max.apply(null, probs));
      answer.textContent = "The network reads: " + best + " (" + (100 * probs[best]).toFixed(1) + " %)";
      answer.dataset.digit = String(best);
      probs.forEach((p, d) => {
        rows[d].bar.style.width = (100 * p).toFixed(2) + "%";
        rows[d].prob.textContent = (100 * p).toFixed(1) + " %";
        rows[d].row.classList.toggle("top", d === best);
      });
      timing.textContent = "The ten probabilities (softmax of the scores), computed in " +
        elapsed.toFixed(1) + " ms by this browser";
      const first = outputs[1];  // the first convolution after its ReLU
      if (mapCanvases.length === 0) {
        for (let ch = 0; ch < first.c; ch++) {
          const c = element("canvas", { class: "pixelated", width: first.w, height: first.h }, maps);
          c.style.width = c.style.height = 3 * first.w + "px";
          mapCanvases.push(c);
        }
      }
      const n = first.h * first.w;
      mapCanvases.forEach((c, ch) => {
        const values = first.data.subarray(ch * n, (ch + 1) * n);
        paint(c, values, Math.max.apply(null, values));
      });
    }

    let pending = false;  // redraw at most once per frame while drawing
    function showSoon() {
      if (!pending) {
        pending = true;
        requestAnimationFrame(() => { pending = false; show(); });
      }
    }

    let last = null;  // the pointer's previous position while a stroke is drawn
    function at(event) {
      const box = pad.getBoundingClientRect();
      return [(event.clientX - box.left) * PAD / box.width, (event.clientY - box.top) * PAD / box.height];
    }
    function line(from, to) {  // one segment at a time: no part of the stroke is painted twice
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = STROKE;
      ctx.lineCap = "round";
      ctx.beginPath();
      ctx.moveTo(from[0], from[1]);
      ctx.lineTo(to[0], to[1]);
      ctx.stroke();
      showSoon();
    }
    pad.addEventListener("pointerdown", (event) => {
      if (!event.isPrimary) return;  // one finger draws; a second one is ignored
      pad.setPointerCapture(event.pointerId);
      last = at(event);
      line(last, last);  // a dot for a tap
      event.preventDefault();
    });
    pad.addEventListener("pointermove", (event) => {
      if (last === null || !event.isPrimary) return;
      const next = at(event);
      line(last, next);
      last = next;
    });
    const stop = (event) => { if (last !== null && event.isPrimary) { last = null; show(); } };
    pad.addEventListener("pointerup", stop);
    pad.addEventListener("pointercancel", stop);
    clear.addEventListener("click", () => { blank(); show(); });

    blank();
    show();
  }

  window.nnbook = window.nnbook || {};
  window.nnbook.digits = {
    predict: predict, preprocess: preprocess, forward: forward, softmax: softmax, toMnist: toMnist,
    layers: layers,
  };

  function mountAll() {
    document.querySelectorAll("[data-nnbook-digits]").forEach((root) => {
      try {
        mount(root);
      } catch (error) {
        root.textContent = "The drawing pad could not start: " + error.message;
        throw error;
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
