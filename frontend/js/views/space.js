// The search-space editor: every field of the SearchSpace JSON, starting from a preset,
// plus a live estimate of how many architectures it describes.

import { h } from "../util.js";

const ENUMS = {
  paddings: ["same", "valid"],
  activations: ["relu", "sigmoid", "tanh", "elu", "selu", "gelu", "swish", "linear"],
  pooling: ["none", "max", "avg"],
  heads: ["flatten", "global_avg", "global_max"],
  optimizers: ["adam", "sgd", "rmsprop"],
  "branches.merge": ["add", "concat"],
  batch_norm: [false, true],
};

const ENUM_LABELS = {
  global_avg: "global avg", global_max: "global max",
  false: "off", true: "on", none: "none", max: "max", avg: "avg",
};

// [path, kind, label, hint]
const SECTIONS = [
  ["Convolution blocks", [
    ["conv_blocks_min", "int", "Blocks, min"],
    ["conv_blocks_max", "int", "Blocks, max"],
    ["filters", "ints", "Filters", "comma-separated, e.g. 16, 32, 64"],
    ["kernel_sizes", "ints", "Kernel sizes"],
    ["strides", "ints", "Strides"],
    ["paddings", "enum", "Padding"],
    ["activations", "enum", "Activations", "used by conv and dense layers"],
    ["batch_norm", "enum", "Batch norm"],
    ["block_dropout_rates", "floats", "Dropout after a block"],
  ]],
  ["Pooling", [
    ["pooling", "enum", "Pooling after a block"],
    ["pool_size", "int", "Pool size"],
    ["pool_strides", "int", "Pool strides"],
  ]],
  ["Branches (DAG)", [
    ["branches.max_branches", "int", "Max branches", "0 keeps every network a plain chain"],
    ["branches.max_depth", "int", "Convs per branch"],
    ["branches.probability", "float", "Branch probability", "chance a block gets branches"],
    ["branches.merge", "enum", "Merge"],
  ]],
  ["Head and dense layers", [
    ["heads", "enum", "Head"],
    ["dense_layers_min", "int", "Dense layers, min"],
    ["dense_layers_max", "int", "Dense layers, max"],
    ["units", "ints", "Units"],
    ["dropout_rates", "floats", "Dropout after a dense layer"],
  ]],
  ["Training", [
    ["optimizers", "enum", "Optimizers"],
    ["learning_rates", "floats", "Learning rates"],
    ["momentums", "floats", "Momentum (sgd only)"],
  ]],
  ["Limits", [
    ["max_params", "optint", "Max parameters", "reject bigger candidates; empty = no limit"],
    ["max_flops", "optint", "Max FLOPs", "empty = no limit"],
  ]],
];

export const fieldId = (path) => `space-${path.replace(/\./g, "-")}`;

function getPath(obj, path) {
  return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

function setPath(obj, path, value) {
  const keys = path.split(".");
  let o = obj;
  for (const k of keys.slice(0, -1)) o = o[k] = { ...(o[k] || {}) };
  o[keys[keys.length - 1]] = value;
}

function parseList(text, kind) {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  const values = parts.map(Number);
  if (values.some((v) => !Number.isFinite(v))) throw new Error("numbers only, separated by commas");
  if (kind === "ints" && values.some((v) => !Number.isInteger(v))) throw new Error("whole numbers only");
  if (values.length === 0) throw new Error("offer at least one value");
  return values;
}

/** Rough count of distinct architectures (the engine's family, see backend/search/arch.py). */
export function spaceSize(s) {
  const n = (xs) => (Array.isArray(xs) ? xs.length : 1);
  const perBranchConv = n(s.filters) * n(s.kernel_sizes) * n(s.activations);
  let branchFactor = 1;
  const br = s.branches || {};
  if ((br.max_branches || 0) > 0 && (br.probability || 0) > 0) {
    let oneBranch = 0;
    for (let d = 1; d <= (br.max_depth || 1); d++) oneBranch += perBranchConv ** d;
    let sum = 0;
    for (let b = 1; b <= br.max_branches; b++) sum += oneBranch ** b;
    branchFactor = 1 + n(br.merge) * sum;
  }
  const perBlock = n(s.filters) * n(s.kernel_sizes) * n(s.strides) * n(s.paddings)
    * n(s.activations) * n(s.pooling) * n(s.batch_norm) * n(s.block_dropout_rates) * branchFactor;
  let conv = 0;
  for (let b = s.conv_blocks_min; b <= s.conv_blocks_max; b++) conv += perBlock ** b;
  const perDense = n(s.units) * n(s.activations) * n(s.dropout_rates);
  let dense = 0;
  for (let m = s.dense_layers_min; m <= s.dense_layers_max; m++) dense += perDense ** m;
  const opts = (s.optimizers || []).reduce((acc, o) => acc + (o === "sgd" ? n(s.momentums) : 1), 0);
  return conv * n(s.heads) * dense * opts * n(s.learning_rates);
}

/** A count for display: plain below a million, else mantissa × 10 with a superscript exponent. */
export function formatBig(x) {
  if (!Number.isFinite(x)) return "astronomically many";
  if (x < 1e6) return Math.round(x).toLocaleString();
  const exp = Math.floor(Math.log10(x));
  return [`${(x / 10 ** exp).toFixed(1)} × 10`, h("sup", {}, String(exp))];
}

/**
 * @param {object} initial  a SearchSpace JSON object
 * @param {() => void} onChange
 */
export function createSpaceEditor(initial, onChange) {
  let value = structuredClone(initial);
  const inputs = new Map(); // path -> {kind, el | boxes}
  const errors = new Map(); // path -> error element
  const localErrors = new Map();

  const root = h("div", { class: "space-editor" });

  function control(path, kind, label, hint) {
    const id = fieldId(path);
    const errEl = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
    const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
    const describedBy = [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(" ");
    errors.set(path, errEl);
    if (kind === "enum") {
      const boxes = ENUMS[path].map((opt) => {
        const box = h("input", { type: "checkbox", id: `${id}-${opt}`, value: String(opt),
          onchange: () => update(path) });
        return { opt, box, el: h("label", { class: "chip", for: `${id}-${opt}` }, box,
          h("span", {}, ENUM_LABELS[String(opt)] || String(opt))) };
      });
      inputs.set(path, { kind, boxes });
      return h("fieldset", { class: "field field-wide", id, "aria-describedby": describedBy },
        h("legend", {}, label),
        h("div", { class: "chips" }, boxes.map((b) => b.el)), hintEl, errEl);
    }
    const attrs = { id, name: id, "aria-describedby": describedBy, oninput: () => update(path) };
    let input;
    if (kind === "int" || kind === "optint") {
      input = h("input", { ...attrs, type: "number", step: "1", min: "0", inputmode: "numeric" });
    } else if (kind === "float") {
      input = h("input", { ...attrs, type: "number", step: "0.05", min: "0", max: "1", inputmode: "decimal" });
    } else {
      input = h("input", { ...attrs, type: "text", inputmode: "decimal", autocomplete: "off", spellcheck: "false" });
    }
    inputs.set(path, { kind, el: input });
    return h("div", { class: `field ${kind === "ints" || kind === "floats" ? "field-list" : ""}` },
      h("label", { for: id }, label), input, hintEl, errEl);
  }

  for (const [title, fields] of SECTIONS) {
    root.append(h("fieldset", { class: "space-section" },
      h("legend", {}, title),
      h("div", { class: "grid-fields" }, fields.map((f) => control(...f)))));
  }

  function fill() {
    for (const [path, ctl] of inputs) {
      const v = getPath(value, path);
      if (ctl.kind === "enum") {
        for (const { opt, box } of ctl.boxes) box.checked = Array.isArray(v) && v.includes(opt);
      } else if (ctl.kind === "ints" || ctl.kind === "floats") {
        ctl.el.value = Array.isArray(v) ? v.join(", ") : "";
      } else {
        ctl.el.value = v === null || v === undefined ? "" : String(v);
      }
    }
    clearErrors();
  }

  function update(path) {
    const ctl = inputs.get(path);
    let parsed;
    try {
      if (ctl.kind === "enum") {
        parsed = ctl.boxes.filter((b) => b.box.checked).map((b) => b.opt);
        if (parsed.length === 0) throw new Error("choose at least one");
      } else if (ctl.kind === "ints" || ctl.kind === "floats") {
        parsed = parseList(ctl.el.value, ctl.kind);
      } else if (ctl.kind === "optint") {
        parsed = ctl.el.value.trim() === "" ? null : Number(ctl.el.value);
        if (parsed !== null && !(Number.isInteger(parsed) && parsed >= 1)) throw new Error("a whole number ≥ 1, or empty");
      } else {
        if (ctl.el.value.trim() === "") throw new Error("required");
        parsed = Number(ctl.el.value);
        if (!Number.isFinite(parsed)) throw new Error("a number");
        if (ctl.kind === "int" && !Number.isInteger(parsed)) throw new Error("a whole number");
      }
      localErrors.delete(path);
      showError(path, "");
      setPath(value, path, parsed);
    } catch (err) {
      localErrors.set(path, err.message);
      showError(path, err.message);
    }
    checkBounds();
    onChange();
  }

  function checkBounds() {
    for (const [lo, hi] of [["conv_blocks_min", "conv_blocks_max"], ["dense_layers_min", "dense_layers_max"]]) {
      if (localErrors.has(lo) || localErrors.has(hi)) continue;
      showError(hi, value[lo] > value[hi] ? "must be at least the minimum" : "");
    }
  }

  function showError(path, message) {
    const errEl = errors.get(path);
    if (!errEl) return false;
    errEl.textContent = message;
    errEl.hidden = !message;
    const ctl = inputs.get(path);
    const target = ctl.kind === "enum" ? document.getElementById(fieldId(path)) || null : ctl.el;
    if (target) {
      if (message) target.setAttribute("aria-invalid", "true");
      else target.removeAttribute("aria-invalid");
    }
    return true;
  }

  function clearErrors() {
    localErrors.clear();
    for (const path of errors.keys()) showError(path, "");
  }

  fill();

  return {
    el: root,
    get value() { return structuredClone(value); },
    get valid() { return localErrors.size === 0; },
    setValue(space) { value = structuredClone(space); fill(); },
    clearErrors,
    /** Show a server error at ["branches", "merge"]; false when the path is unknown. */
    showServerError(loc, message) {
      const path = loc.filter((k) => typeof k === "string").join(".");
      if (errors.has(path)) return showError(path, message);
      return false;
    },
    focusFirstError() {
      for (const [path, errEl] of errors) {
        if (!errEl.hidden) {
          const ctl = inputs.get(path);
          (ctl.kind === "enum" ? ctl.boxes[0].box : ctl.el).focus();
          return true;
        }
      }
      return false;
    },
  };
}
