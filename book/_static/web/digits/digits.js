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
 * returns the 784 numbers a drawing on a canvas becomes; receptiveField(layer, row, col) returns the
 * input pixels {top, left, bottom, right} (inclusive) that cell of the output of layer `layer` (an index
 * into layers()) sees, computed from the exported kernel sizes, strides (no padding: layers() refuses it); selection()
 * returns the map cell last clicked on the page, {layer, channel, row, col, top, left, bottom, right},
 * or null.
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
    // conv() and maxpool() below compute only this geometry; anything else would give wrong scores
    // silently (while geometry() would still draw right receptive fields)
    const fits = (l) => l.type === "conv" ? l.stride === 1 && l.padding === 0
      : l.type !== "maxpool" || (l.size === 2 && l.stride === 2 && l.padding === 0);
    const misfit = layers.find((l) => !fits(l));
    if (misfit) throw new Error("digits.js: no forward pass for a " + misfit.type + " of size " + misfit.size +
                                ", stride " + misfit.stride + ", padding " + misfit.padding);
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

  // ---- Receptive fields: which input pixels a cell of each layer's output sees ----

  // Walk the layers as nnbook.mnist.models.receptive_field_table does: a layer with kernel k and
  // stride s maps a size-n input to (n - k) / s + 1 cells, widens the window by (k - 1) jumps and
  // multiplies the jump (the input distance between neighbouring cells) by s. layers() refuses any
  // padding, so cell 0's window starts at pixel 0 and every window lies inside the image. Global
  // pooling is one window of the map.
  function geometry() {
    let size = 28, rf = 1, jump = 1;
    return layers().map((layer) => {
      let k = 1, s = 1;
      if (layer.type === "conv" || layer.type === "maxpool") {
        k = layer.size; s = layer.stride;
        if (![k, s].every(Number.isInteger)) throw new Error("digits.js: a " + layer.type + " without its geometry");
      } else if (layer.type === "avgpool") {
        k = s = size;
      }
      size = Math.floor((size - k) / s) + 1;
      rf += (k - 1) * jump;
      jump *= s;
      return { type: layer.type, size: size, rf: rf, jump: jump };
    });
  }

  function receptiveField(index, row, col) {
    const all = geometry();
    if (!(Number.isInteger(index) && index >= 0 && index < all.length)) {
      throw new RangeError("receptiveField: layer " + index + " is not one of 0.." + (all.length - 1));
    }
    const g = all[index];
    for (const [name, value] of [["row", row], ["col", col]]) {
      if (!(Number.isInteger(value) && value >= 0 && value < g.size)) {
        throw new RangeError("receptiveField: " + name + " " + value + " is outside layer " + index +
                             "'s " + g.size + " x " + g.size + " output");
      }
    }
    const top = row * g.jump, left = col * g.jump;
    return { top: top, left: left, bottom: top + g.rf - 1, right: left + g.rf - 1 };
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
.nnbook-digits .maps, .nnbook-digits .deep-maps { display: flex; flex-wrap: wrap; gap: 0.3rem; }
.nnbook-digits .maps-figure { flex-basis: 100%; }
.nnbook-digits .map { position: relative; display: inline-block; }
.nnbook-digits .map canvas { cursor: pointer; }
.nnbook-digits .input-view { position: relative; width: fit-content; }
.nnbook-digits .rf-box, .nnbook-digits .cell-box { position: absolute; box-sizing: border-box; pointer-events: none;
  border: 2px solid #dd8452; }
.nnbook-digits .rf-box { display: none; }
.nnbook-digits .rf-info { min-height: 1.3rem; margin-bottom: 0.3rem; }
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
    const inputView = element("div", { class: "input-view" }, inputFigure);
    const input = element("canvas", { class: "pixelated input", width: 28, height: 28 }, inputView);
    input.style.width = input.style.height = "112px";
    const rfBox = element("div", { class: "rf-box" }, inputView);
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

    // The feature maps: the first convolution's always, a deeper one chosen in a list; a click on a
    // cell outlines its receptive field on the input. Map canvases carry their layer and channel.
    const shapes = geometry(), net = layers();
    const convs = [];  // the output index of each convolution's ReLU (the maps shown), in order
    net.forEach((layer, i) => { if (layer.type === "conv" && net[i + 1] && net[i + 1].type === "relu") convs.push(i + 1); });
    const mapsFigure = element("figure", { class: "maps-figure" }, root);
    const PROMPT = "Click a cell of a feature map to outline, on the 28 × 28 input, the pixels it sees: " +
      "its receptive field.";
    const rfInfo = element("div", { class: "rf-info", text: PROMPT }, mapsFigure);
    const maps = element("div", { class: "maps" }, mapsFigure);
    element("figcaption", { text: "The first layer's feature maps: what each of its filters finds (after ReLU)" },
            mapsFigure);
    const deepFigure = element("figure", { class: "maps-figure deep-figure" }, root);
    const deepLabel = element("label", { text: "A deeper layer: " }, deepFigure);
    const deepChoice = element("select", { class: "deep-layer", "aria-label": "deeper layer shown" }, deepLabel);
    convs.slice(1).forEach((index) => {
      const g = shapes[index], number = convs.indexOf(index) + 1;
      element("option", { value: index, text: "convolution " + number + ": " + net[index - 1].out + " maps of " +
                          g.size + " × " + g.size + ", each cell sees " + g.rf + " × " + g.rf + " pixels" }, deepChoice);
    });
    deepChoice.value = String(convs[convs.length - 1]);  // the deepest: the widest receptive fields
    const deepMaps = element("div", { class: "deep-maps" }, deepFigure);
    element("figcaption", { text: "Its feature maps (after ReLU), each cell a larger square of the input" },
            deepFigure);
    const cellBox = element("div", { class: "cell-box" });
    let outputs = null;  // every layer's output for the current drawing (null: nothing drawn)
    let selected = null;  // the map cell last clicked

    function mapCanvases(parent, index, scale) {
      parent.textContent = "";
      const g = shapes[index], canvases = [];
      for (let ch = 0; ch < net[index - 1].out; ch++) {
        const holder = element("span", { class: "map" }, parent);
        const c = element("canvas", { class: "pixelated", width: g.size, height: g.size, "data-layer": index,
                                      "data-channel": ch }, holder);
        c.style.width = c.style.height = scale * g.size + "px";
        canvases.push(c);
      }
      return canvases;
    }
    const firstMaps = mapCanvases(maps, convs[0], 3);
    let deepCanvases = [];
    function showDeep() {
      const index = parseInt(deepChoice.value, 10);
      deepCanvases = mapCanvases(deepMaps, index, Math.max(3, Math.round(72 / shapes[index].size)));
      if (selected && selected.layer !== convs[0]) select(null);
      paintMaps();
    }
    function paintMaps() {
      for (const canvases of [firstMaps, deepCanvases]) {
        canvases.forEach((c) => {
          const n = c.width * c.height, ch = parseInt(c.dataset.channel, 10);
          const values = outputs ? outputs[parseInt(c.dataset.layer, 10)].data.subarray(ch * n, (ch + 1) * n)
            : new Float64Array(n);
          paint(c, values, Math.max.apply(null, values));
        });
      }
    }

    // Outline a cell's receptive field on the input and the cell on its map; null clears both.
    function select(cell) {
      selected = cell;
      if (cell === null) {
        rfBox.style.display = "none";
        cellBox.remove();
        delete root.dataset.receptiveField;
        rfInfo.textContent = PROMPT;
        return;
      }
      const box = receptiveField(cell.layer, cell.row, cell.col), scale = input.clientWidth / input.width;
      Object.assign(selected, box);
      const x0 = input.offsetLeft + input.clientLeft, y0 = input.offsetTop + input.clientTop;  // inside the border
      Object.assign(rfBox.style, { display: "block", left: x0 + scale * box.left + "px", top: y0 + scale * box.top + "px",
                                   width: scale * (box.right - box.left + 1) + "px",
                                   height: scale * (box.bottom - box.top + 1) + "px" });
      const c = cell.canvas, cellPx = c.clientWidth / c.width;
      Object.assign(cellBox.style, { left: c.offsetLeft + c.clientLeft + cellPx * cell.col + "px",
                                     top: c.offsetTop + c.clientTop + cellPx * cell.row + "px",
                                     width: cellPx + "px", height: cellPx + "px" });
      cell.canvas.parentNode.appendChild(cellBox);
      delete selected.canvas;
      root.dataset.receptiveField = [box.top, box.left, box.bottom, box.right].join(",");
      const name = "convolution " + (convs.indexOf(cell.layer) + 1);
      rfInfo.textContent = "Cell (row " + cell.row + ", column " + cell.col + ") of " + name + "'s map " +
        (cell.channel + 1) + " sees input rows " + box.top + "–" + box.bottom + ", columns " + box.left + "–" +
        box.right + ": " + (box.bottom - box.top + 1) + " × " + (box.right - box.left + 1) + " pixels.";
    }
    function clicked(event) {
      const c = event.target;
      if (c.tagName !== "CANVAS" || c.dataset.layer === undefined) return;
      const rect = c.getBoundingClientRect();
      const at = (offset, length, cells) => Math.min(cells - 1, Math.max(0, Math.floor(offset / length * cells)));
      select({ layer: parseInt(c.dataset.layer, 10), channel: parseInt(c.dataset.channel, 10), canvas: c,
               row: at(event.clientY - rect.top, rect.height, c.height),
               col: at(event.clientX - rect.left, rect.width, c.width) });
    }
    mapsFigure.addEventListener("click", clicked);
    deepFigure.addEventListener("click", clicked);
    deepChoice.addEventListener("change", showDeep);
    lastSelection = () => (selected === null ? null : Object.assign({}, selected));

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
        outputs = null;
        paintMaps();
        return;
      }
      const started = performance.now();
      outputs = forward(pixels);
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
      paintMaps();
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
    showDeep();
    show();
  }

  let lastSelection = () => null;  // set by the pad: the map cell last clicked on the page

  window.nnbook = window.nnbook || {};
  window.nnbook.digits = {
    predict: predict, preprocess: preprocess, forward: forward, softmax: softmax, toMnist: toMnist,
    layers: layers, geometry: geometry, receptiveField: receptiveField, selection: () => lastSelection(),
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
