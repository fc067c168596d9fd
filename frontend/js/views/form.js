// "/new": describe a search and submit it; "/new?clone=ID" starts from an earlier search.

import { api } from "../api.js";
import { setConnection } from "../conn.js";
import { navigate } from "../router.js";
import { duration, h, toast, set } from "../util.js";
import { createDatasetPicker } from "./datasets.js";
import { createSpaceEditor, formatBig, spaceSize } from "./space.js";

export const nav = "new";

const STRATEGIES = {
  evolution: "Evolution — tournament selection, crossover and mutation, elites survive",
  aging: "Aging evolution — regularized evolution: the oldest member dies each step",
  random: "Random search — independent samples, a strong baseline",
  nsga2: "NSGA-II — multi-objective: accuracy vs. model size or FLOPs (Pareto front)",
};

// Seconds per candidate-epoch when no earlier search on the dataset tells us better.
function guessEpochSeconds(dataset, space) {
  if (!dataset) return 1;
  const [hh, ww] = dataset.input_shape;
  const filters = space.filters || [32];
  const meanFilters = filters.reduce((a, b) => a + b, 0) / filters.length;
  return (0.5 + dataset.train_size * hh * ww * 2e-7) * Math.sqrt(Math.max(meanFilters, 4) / 32);
}

export async function mount(root, _params, query) {
  document.title = "New search · nasboard";
  setConnection("idle");
  const cloneId = query.get("clone");
  const [datasets, presets, history, source] = await Promise.all([
    api.datasets(), api.presets(), api.searches(0, 100).catch(() => ({ items: [] })),
    cloneId ? api.search(cloneId) : Promise.resolve(null),
  ]);
  const cfg = source ? source.config : {};
  const presetNames = Object.keys(presets);
  const startPreset = source
    ? (presetNames.find((n) => JSON.stringify(presets[n]) === JSON.stringify(cfg.search_space)) || "custom")
    : "seed";
  const startSpace = (source && cfg.search_space) || presets.seed;

  const errs = new Map();
  const fields = {};

  /** A labelled input with an inline error slot; `name` is the API field. */
  function field(name, label, input, hint) {
    input.id = `f-${name}`;
    input.name = name;
    const errEl = h("p", { class: "field-error", id: `f-${name}-error`, hidden: true });
    const hintEl = hint ? h("p", { class: "hint", id: `f-${name}-hint` }, hint) : null;
    input.setAttribute("aria-describedby", [hint ? `f-${name}-hint` : null, `f-${name}-error`].filter(Boolean).join(" "));
    errs.set(name, errEl);
    fields[name] = input;
    input.addEventListener("input", () => { setError(name, ""); refreshEstimate(); });
    input.addEventListener("change", refreshEstimate);
    return h("div", { class: "field", dataset: { field: name } }, h("label", { for: input.id }, label), input, hintEl, errEl);
  }

  const numInput = (value, attrs = {}) => h("input", { type: "number", value: value ?? "", ...attrs });
  const pick = (key, dflt) => (cfg[key] !== undefined && cfg[key] !== null ? cfg[key] : dflt);

  // --- dataset cards (radio group), their previews, uploads ---
  const picker = createDatasetPicker(datasets, {
    selected: source ? cfg.dataset : undefined,
    onChange: () => { setError("dataset", ""); refreshEstimate(); },
  });
  errs.set("dataset", picker.errorEl);

  const strategySelect = h("select", {}, Object.entries(STRATEGIES).map(([k, text]) =>
    h("option", { value: k, selected: pick("strategy", "evolution") === k }, text.split(" — ")[0])));
  const strategyHint = h("p", { class: "hint" });
  const objective = h("select", {},
    h("option", { value: "params", selected: pick("objective", "params") === "params" }, "Parameters"),
    h("option", { value: "flops", selected: pick("objective", "params") === "flops" }, "FLOPs"));

  const baselineBox = h("input", { type: "checkbox", id: "f-include_baseline", checked: pick("include_baseline", true) });
  fields.include_baseline = baselineBox;
  errs.set("include_baseline", h("p", { class: "field-error", hidden: true }));
  // Warm start (EngineConfig.warm_start): mutations of the baseline instead of random genomes.
  const warmBox = h("input", { type: "checkbox", id: "f-warm_start", name: "warm_start", checked: pick("warm_start", false) });
  fields.warm_start = warmBox;
  errs.set("warm_start", h("p", { class: "field-error", id: "f-warm_start-error", hidden: true }));
  const syncWarm = () => {
    warmBox.disabled = !baselineBox.checked;
    if (!baselineBox.checked) warmBox.checked = false;
  };
  baselineBox.addEventListener("change", syncWarm);
  syncWarm();

  // Accelerator options: off by default; they pay on GPU workers only.
  const accel = {};
  for (const name of ["mixed_precision", "jit_compile"]) {
    accel[name] = h("input", { type: "checkbox", id: `f-${name}`, name, checked: pick(name, false) });
    fields[name] = accel[name];
    errs.set(name, h("p", { class: "field-error", id: `f-${name}-error`, hidden: true }));
  }
  const accelerator = h("fieldset", { class: "field accelerator", "aria-describedby": "accelerator-hint" },
    h("legend", {}, "Accelerator"),
    h("label", { class: "check", for: "f-mixed_precision" }, accel.mixed_precision,
      h("span", {}, "Mixed precision (float16 compute, float32 softmax)")),
    errs.get("mixed_precision"),
    h("label", { class: "check", for: "f-jit_compile" }, accel.jit_compile,
      h("span", {}, "XLA compilation of the training step")),
    errs.get("jit_compile"),
    h("p", { class: "hint", id: "accelerator-hint" },
      "Both pay on GPU workers only; on CPUs leave them off (they slow training down). The final retraining of the best network runs in float32."));

  // Early stopping of hopeless candidates (backend.search.early_stop): off by default.
  const earlyBox = h("input", { type: "checkbox", id: "f-early_stop", name: "early_stop", checked: pick("early_stop", false) });
  fields.early_stop = earlyBox;
  errs.set("early_stop", h("p", { class: "field-error", id: "f-early_stop-error", hidden: true }));
  const earlyStop = h("fieldset", { class: "field early-stop", "aria-describedby": "early-stop-hint" },
    h("legend", {}, "Early stopping"),
    h("label", { class: "check", for: "f-early_stop" }, earlyBox,
      h("span", {}, "Stop hopeless candidates after an epoch")),
    errs.get("early_stop"),
    h("p", { class: "hint", id: "early-stop-hint" },
      "A candidate below the chosen quantile of the candidates that reached the same epoch stops there, and so does one no better than guessing; its result is kept at that epoch. The baseline and confirmations always train in full."));

  const presetSelect = h("select", { id: "preset", "aria-describedby": "preset-hint" },
    presetNames.map((n) => h("option", { value: n, selected: n === startPreset }, n)),
    h("option", { value: "custom", selected: startPreset === "custom" }, "custom"));
  const editor = createSpaceEditor(startSpace, () => {
    const match = presetNames.find((n) => JSON.stringify(presets[n]) === JSON.stringify(editor.value));
    presetSelect.value = match || "custom";
    refreshEstimate();
  });
  presetSelect.addEventListener("change", () => {
    if (presets[presetSelect.value]) editor.setValue(presets[presetSelect.value]);
    refreshEstimate();
  });
  const editorDetails = h("details", { class: "space-details", open: startPreset === "custom" },
    h("summary", {}, "Edit the search space"), editor.el);

  const formError = h("div", { class: "form-error", role: "alert", hidden: true });
  const submitBtn = h("button", { type: "submit", class: "btn btn-primary btn-lg" }, "Start search");
  const estimate = h("dl", { class: "estimate", "aria-live": "polite" });

  const defaultName = source ? `${source.name} (copy)` : "";
  const form = h("form", { class: "search-form", novalidate: true, onsubmit: submit },
    h("div", { class: "form-main" },
      h("section", { class: "card" },
        h("h2", {}, "Basics"),
        field("name", "Name", h("input", { type: "text", value: defaultName, required: true, maxlength: "200",
          placeholder: "e.g. digits, small CNNs", autocomplete: "off" })),
        h("fieldset", { class: "field" },
          h("legend", { id: "dataset-legend" }, "Dataset"), picker.el)),
      h("section", { class: "card" },
        h("h2", {}, "Strategy"),
        h("div", { class: "grid-fields" },
          h("div", { class: "field-wide" }, field("strategy", "Search strategy", strategySelect), strategyHint),
          field("population_size", "Population size", numInput(pick("population_size", 8), { min: 2, max: 200, step: 1 })),
          field("generations", "Generations", numInput(pick("generations", 3), { min: 1, max: 500, step: 1 })),
          field("crossover_prob", "Crossover probability", numInput(pick("crossover_prob", 0.5), { min: 0, max: 1, step: 0.05 })),
          field("mutation_rate", "Mutation rate", numInput(pick("mutation_rate", 0.3), { min: 0, max: 1, step: 0.05 })),
          field("tournament_size", "Tournament size", numInput(pick("tournament_size", 3), { min: 2, max: 50, step: 1 })),
          field("elitism", "Elites kept", numInput(pick("elitism", 1), { min: 0, max: 50, step: 1 }), "best members carried over unchanged"),
          h("div", { class: "objective-field" }, field("objective", "Second objective (minimised)", objective)),
          field("seed", "Random seed", numInput(pick("seed", 0), { min: 0, step: 1 })),
        ),
        h("label", { class: "check", for: "f-include_baseline" }, baselineBox,
          h("span", {}, "Train the seed's hand-designed CNN as a baseline (candidate 0, when the search space allows it)")),
        errs.get("include_baseline"),
        h("label", { class: "check", for: "f-warm_start" }, warmBox,
          h("span", {}, "Start from it: the rest of the first generation are mutations of the baseline, not random networks")),
        errs.get("warm_start")),
      h("section", { class: "card" },
        h("h2", {}, "Training and stopping"),
        h("div", { class: "grid-fields" },
          field("epochs_per_candidate", "Epochs per candidate", numInput(pick("epochs_per_candidate", 1), { min: 1, max: 100, step: 1 })),
          field("batch_size", "Batch size", numInput(pick("batch_size", 128), { min: 8, max: 4096, step: 8 })),
          field("final_epochs", "Final training epochs", numInput(cloneId ? cfg.final_epochs : "", { min: 1, max: 200, step: 1, placeholder: "auto" }), "the best network is retrained, then tested"),
          field("confirm_top", "Confirm the best", numInput(pick("confirm_top", 0), { min: 0, max: 16, step: 1 }), "0: off; else train the best N on for longer (from their saved models) and keep the best of those"),
          field("confirm_epochs", "Confirmation epochs", numInput(cloneId ? cfg.confirm_epochs : "", { min: 1, max: 200, step: 1, placeholder: "= final" }), "= epochs per candidate: a second training, ranked by the mean of both"),
          field("early_stop_quantile", "Early stop below quantile", numInput(pick("early_stop_quantile", 0.5), { min: 0.05, max: 0.95, step: 0.05 }), "0.5: below the median"),
          field("early_stop_min_peers", "Early stop after peers", numInput(pick("early_stop_min_peers", 5), { min: 1, max: 1000, step: 1 }), "candidates needed at an epoch first"),
          field("early_stop_rung_steps", "Early look after steps", numInput(cloneId ? (cfg.early_stop_rung_steps ?? "") : "", { min: 1, max: 100000, step: 1, placeholder: "off" }), "judge once inside the first epoch too, after this many batches"),
          field("time_budget_s", "Time budget (minutes)", numInput(cfg.time_budget_s ? +(cfg.time_budget_s / 60).toFixed(2) : "", { min: 0, step: "any", placeholder: "none" }), "stop after this long"),
          field("target_accuracy", "Target accuracy", numInput(pick("target_accuracy", ""), { min: 0, max: 1, step: 0.01, placeholder: "none, e.g. 0.95" }), "stop once a candidate reaches it (0–1)")),
        earlyStop,
        accelerator),
      h("section", { class: "card" },
        h("h2", {}, "Search space"),
        h("p", { class: "muted" }, "Which networks may be proposed: blocks of conv → (branches) → pool → dropout, a head, then dense layers."),
        h("div", { class: "field" }, h("label", { for: "preset" }, "Search space preset"), presetSelect,
          h("p", { class: "hint", id: "preset-hint" }, "seed: the default space · tiny: very small nets, fast · dag: branches, more ops")),
        editorDetails)),
    h("aside", { class: "form-side" },
      h("div", { class: "card sticky" },
        h("h2", {}, "Estimate"),
        estimate,
        formError,
        submitBtn,
        h("a", { class: "btn btn-ghost btn-block", href: "/" }, "Cancel"))));

  const head = h("div", { class: "page-head" },
    h("div", {},
      h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "/" }, "Searches"), " / ", source ? `Clone #${source.id}` : "New"),
      h("h1", {}, source ? `Clone “${source.name}”` : "New search"),
      source ? h("p", { class: "muted" }, "Everything below starts from that search's settings: change what you like.") : null));
  root.append(head, form);

  function currentDataset() {
    return picker.value;
  }

  function refreshEstimate() {
    const strategy = strategySelect.value;
    strategyHint.textContent = STRATEGIES[strategy].split(" — ")[1];
    form.querySelector(".objective-field").hidden = strategy !== "nsga2";
    const pop = Number(fields.population_size.value) || 0;
    const gens = Number(fields.generations.value) || 0;
    const elit = Number(fields.elitism.value) || 0;
    const epochs = Number(fields.epochs_per_candidate.value) || 1;
    const perGen = strategy === "evolution" ? Math.max(0, pop - elit) : pop;
    const total = gens > 0 ? pop + (gens - 1) * perGen : 0;
    const ds = currentDataset();
    const space = editor.value;
    // Calibrate on earlier searches on the same dataset when there are any.
    let perEpoch = guessEpochSeconds(ds, space);
    let basis = "a rough guess";
    const past = history.items.filter((s) => ds && s.dataset === ds.id && s.progress.candidates_done > 0 && s.progress.elapsed_s);
    if (past.length) {
      const secs = past.reduce((a, s) => a + s.progress.elapsed_s, 0);
      const work = past.reduce((a, s) => a + s.progress.candidates_done * (s.config.epochs_per_candidate || 1), 0);
      perEpoch = secs / work;
      basis = `from ${past.length} earlier search${past.length > 1 ? "es" : ""} on this dataset`;
    }
    const finalEpochs = Number(fields.final_epochs.value) || Math.max(2, epochs);
    // Building and compiling each model costs about a second on top of its epochs.
    const overhead = past.length ? 0 : 1.2;
    const confirmTop = Number(fields.confirm_top.value) || 0;
    const confirmEpochs = Number(fields.confirm_epochs.value) || finalEpochs;
    // a confirmation trains on from its candidate's model: only the epochs it lacks
    const confirmTrains = confirmEpochs > epochs ? confirmEpochs - epochs : confirmEpochs;
    let secs = total * (epochs * perEpoch + overhead) + confirmTop * (confirmTrains * perEpoch + overhead)
      + finalEpochs * perEpoch + (past.length ? 0 : 5);
    const budget = Number(fields.time_budget_s.value) * 60;
    const capped = budget > 0 && secs > budget;
    if (capped) secs = budget;
    const size = spaceSize(space);
    set(estimate,
      h("div", {}, h("dt", {}, "Candidates to train"), h("dd", { id: "estimate-candidates" }, total.toLocaleString())),
      h("div", {}, h("dt", {}, "Expected time"), h("dd", { id: "estimate-time" }, `${capped ? "≤ " : "≈ "}${duration(secs)}`),
        h("dd", { class: "hint" }, capped ? "capped by the time budget" : basis)),
      h("div", {}, h("dt", {}, "Architectures in the space"), h("dd", { id: "estimate-space" }, "≈ ", formatBig(size))),
    );
  }

  function setError(name, message) {
    const errEl = errs.get(name);
    if (!errEl) return false;
    errEl.textContent = message;
    errEl.hidden = !message;
    const input = fields[name];
    if (input) {
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
    return true;
  }

  function clearAll() {
    for (const name of errs.keys()) setError(name, "");
    editor.clearErrors();
    formError.hidden = true;
  }

  function collect() {
    const optional = (name, scale = 1) => {
      const raw = fields[name].value.trim();
      return raw === "" ? null : Number(raw) * scale;
    };
    const ds = currentDataset();
    const body = {
      name: fields.name.value.trim(),
      dataset: ds ? ds.id : "",
      strategy: strategySelect.value,
      population_size: Number(fields.population_size.value),
      generations: Number(fields.generations.value),
      epochs_per_candidate: Number(fields.epochs_per_candidate.value),
      batch_size: Number(fields.batch_size.value),
      seed: Number(fields.seed.value),
      crossover_prob: Number(fields.crossover_prob.value),
      mutation_rate: Number(fields.mutation_rate.value),
      tournament_size: Number(fields.tournament_size.value),
      elitism: Number(fields.elitism.value),
      objective: objective.value,
      target_accuracy: optional("target_accuracy"),
      time_budget_s: optional("time_budget_s", 60),
      final_epochs: optional("final_epochs"),
      confirm_top: Number(fields.confirm_top.value),
      confirm_epochs: optional("confirm_epochs"),
      early_stop: earlyBox.checked,
      early_stop_quantile: Number(fields.early_stop_quantile.value),
      early_stop_min_peers: Number(fields.early_stop_min_peers.value),
      early_stop_rung_steps: optional("early_stop_rung_steps"),
      include_baseline: baselineBox.checked,
      warm_start: warmBox.checked,
      mixed_precision: accel.mixed_precision.checked,
      jit_compile: accel.jit_compile.checked,
      search_space: editor.value,
    };
    for (const k of ["target_accuracy", "time_budget_s", "final_epochs", "confirm_epochs", "early_stop_rung_steps"]) if (body[k] === null) delete body[k];
    return body;
  }

  function clientCheck(body) {
    const problems = [];
    if (!body.name) problems.push(["name", "Give the search a name."]);
    if (!body.dataset) problems.push(["dataset", "Pick a dataset."]);
    for (const k of ["population_size", "generations", "epochs_per_candidate", "batch_size", "seed", "tournament_size", "elitism", "confirm_top", "early_stop_min_peers", "early_stop_rung_steps"]) {
      if (k in body && !Number.isInteger(body[k])) problems.push([k, "Enter a whole number."]);
    }
    return problems;
  }

  function focusFirst() {
    const bad = form.querySelector("input[aria-invalid='true']:not([id^='u-']), select[aria-invalid='true']:not([id^='u-'])");
    if (!picker.errorEl.hidden) picker.focus();
    else if (bad) bad.focus();
    else editor.focusFirstError();
  }

  async function submit(e) {
    e.preventDefault();
    clearAll();
    const body = collect();
    const problems = clientCheck(body);
    if (!editor.valid) {
      editorDetails.open = true;
      problems.push([null, "Fix the search space fields marked below."]);
    }
    if (problems.length) {
      for (const [name, msg] of problems) {
        if (!name || !setError(name, msg)) { formError.textContent = msg; formError.hidden = false; }
      }
      focusFirst();
      return;
    }
    submitBtn.disabled = true;
    submitBtn.textContent = "Starting…";
    try {
      const created = await api.createSearch(body);
      navigate(`/searches/${created.id}`);
    } catch (err) {
      submitBtn.disabled = false;
      submitBtn.textContent = "Start search";
      showServerErrors(err);
    }
  }

  function showServerErrors(err) {
    const list = err.fieldErrors;
    if (!list.length) {
      formError.textContent = `Could not start the search: ${err.message}`;
      formError.hidden = false;
      return;
    }
    const general = [];
    for (const item of list) {
      const loc = (item.loc || []).slice(item.loc && item.loc[0] === "body" ? 1 : 0);
      const msg = String(item.msg || "invalid").replace(/^Value error, /, "");
      let shown = false;
      if (loc[0] === "search_space" && loc.length > 1) {
        shown = editor.showServerError(loc.slice(1), msg);
        if (shown) editorDetails.open = true;
      } else if (loc.length) {
        shown = setError(loc[0], msg);
      } else {
        // Cross-field rules ("elitism must be smaller than population_size"): name the field.
        const named = Object.keys(fields).find((k) => msg.startsWith(k));
        if (named) shown = setError(named, msg);
      }
      if (!shown) general.push(loc.length ? `${loc.join(".")}: ${msg}` : msg);
    }
    if (general.length) {
      formError.textContent = general.join(" · ");
      formError.hidden = false;
    }
    focusFirst();
  }

  refreshEstimate();
  if (!source) fields.name.focus();
  return null;
}
