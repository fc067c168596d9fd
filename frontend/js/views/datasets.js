// The dataset picker of the form: built-ins and uploads as cards with sample previews, the
// selected dataset's preview grid, an upload panel (multipart POST with progress, 4xx errors
// next to the field they name) and deletion of uploads (409 while a search uses one).

import { api } from "../api.js";
import { h, num, set, toast } from "../util.js";

function formatOf(filename) {
  const m = /\.([a-z0-9]+)$/i.exec(filename || "");
  const ext = m ? m[1].toLowerCase() : "";
  return ["npz", "zip", "csv"].includes(ext) ? ext : "";
}

function bytes(n) {
  if (n == null) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/**
 * @param {object[]} datasets  GET /api/datasets
 * @param {{selected?: string, onChange?: (d: object|undefined) => void}} options
 */
export function createDatasetPicker(datasets, { selected, onChange = () => {} } = {}) {
  let list = [...datasets];
  let current = list.find((d) => d.id === selected) ? selected : (list[0] && list[0].id);

  const cards = h("div", { class: "dataset-cards", role: "radiogroup", "aria-labelledby": "dataset-legend" });
  const errorEl = h("p", { class: "field-error", id: "f-dataset-error", hidden: true });
  const preview = h("figure", { class: "dataset-preview", id: "dataset-preview", "aria-live": "polite" });

  // ---------- cards ----------
  function card(d) {
    const id = `dataset-${d.id}`;
    const cardError = h("p", { class: "field-error card-error", role: "alert", hidden: true });
    let armed = null;
    const del = d.builtin ? null : h("button", {
      type: "button", class: "btn btn-sm btn-danger-ghost dataset-delete", "aria-label": `Delete dataset ${d.name}`,
      onclick: async (e) => {
        e.preventDefault();
        e.stopPropagation();
        if (!armed) { // two clicks: the first asks, the second deletes
          del.textContent = "Click again to delete";
          armed = setTimeout(() => { armed = null; del.textContent = "Delete"; }, 4000);
          return;
        }
        clearTimeout(armed);
        armed = null;
        del.disabled = true;
        del.textContent = "Deleting…";
        try {
          await api.deleteDataset(d.id);
          remove(d.id);
          toast(`Deleted dataset “${d.name}”`, "info");
        } catch (err) {
          del.disabled = false;
          del.textContent = "Delete";
          if (err.status === 404) { remove(d.id); return; }
          cardError.textContent = err.status === 409
            ? `In use, not deleted: ${err.message}`
            : `Could not delete: ${err.message}`;
          cardError.hidden = false;
        }
      },
    }, "Delete");
    return h("label", { class: `dataset-card ${d.builtin ? "" : "is-upload"}`, for: id, dataset: { datasetId: d.id } },
      h("input", { type: "radio", name: "dataset", id, value: d.id, checked: d.id === current,
        onchange: () => select(d.id) }),
      d.preview_url ? h("img", { class: "dataset-thumb", src: d.preview_url, alt: "", loading: "lazy", width: "64", height: "64" }) : null,
      h("span", { class: "dataset-name" }, d.name, d.builtin ? null : h("span", { class: "tag" }, "uploaded")),
      d.description ? h("span", { class: "dataset-desc" }, d.description) : null,
      h("span", { class: "dataset-meta" },
        `${d.input_shape.join("×")} · ${d.num_classes} classes · ${d.train_size.toLocaleString()} train`),
      del ? h("span", { class: "dataset-actions" }, del) : null,
      cardError);
  }

  function renderCards() {
    set(cards, list.map(card));
  }

  function renderPreview() {
    const d = value();
    if (!d) { set(preview); preview.hidden = true; return; }
    preview.hidden = false;
    const names = d.class_names && d.class_names.length ? d.class_names : [];
    const shownNames = names.slice(0, 20);
    set(preview,
      d.preview_url ? h("img", { src: d.preview_url, id: "dataset-preview-img", class: "preview-grid",
        alt: `Sample training images of ${d.name}: one row per class` }) : null,
      h("figcaption", {},
        h("strong", {}, d.name), h("br"),
        h("span", { class: "muted small" }, "Samples: one row per class, in class order"),
        h("dl", { class: "kv" },
          h("dt", {}, "Input"), h("dd", {}, d.input_shape.join(" × ")),
          h("dt", {}, "Split"), h("dd", {}, `${num(d.train_size)} train · ${num(d.val_size)} val · ${num(d.test_size)} test`),
          h("dt", {}, "Classes"), h("dd", {}, `${d.num_classes}: ${shownNames.join(", ")}${names.length > shownNames.length ? ", …" : ""}`),
          d.checksum ? h("dt", {}, "Checksum") : null,
          d.checksum ? h("dd", { class: "mono", title: d.checksum }, d.checksum.slice(0, 16) + "…") : null)));
  }

  function select(id) {
    current = id;
    const input = cards.querySelector(`input[value="${CSS.escape(id)}"]`);
    if (input) input.checked = true;
    errorEl.hidden = true;
    renderPreview();
    onChange(value());
  }

  function remove(id) {
    list = list.filter((d) => d.id !== id);
    if (current === id) current = list[0] && list[0].id;
    renderCards();
    select(current);
  }

  function value() {
    return list.find((d) => d.id === current);
  }

  // ---------- upload panel ----------
  const u = {};
  const uErrs = new Map();
  function ufield(name, label, input, hint) {
    input.id = `u-${name}`; // no `name`: these controls sit inside the search form but are not part of it
    const err = h("p", { class: "field-error", id: `u-${name}-error`, hidden: true });
    uErrs.set(name, err);
    u[name] = input;
    input.setAttribute("aria-describedby", [hint ? `u-${name}-hint` : null, `u-${name}-error`].filter(Boolean).join(" "));
    input.addEventListener("input", () => setUploadError(name, ""));
    return h("div", { class: "field", dataset: { field: name } }, h("label", { for: input.id }, label), input,
      hint ? h("p", { class: "hint", id: `u-${name}-hint` }, hint) : null, err);
  }
  const fileField = ufield("file", "File", h("input", { type: "file", accept: ".npz,.zip,.csv" }),
    ".npz with x_train, y_train (and x_test, y_test, class_names) · .zip with one folder of PNG/JPEG images per class · .csv with a label column and one pixel per column");
  const zipOpts = h("div", { class: "grid-fields", id: "u-zip-options", hidden: true },
    ufield("height", "Resize to height", h("input", { type: "number", min: 4, max: 512, step: 1, placeholder: "as the images" })),
    ufield("width", "Resize to width", h("input", { type: "number", min: 4, max: 512, step: 1, placeholder: "as the images" })),
    ufield("color", "Color", h("select", {}, h("option", { value: "grayscale" }, "grayscale"), h("option", { value: "rgb" }, "RGB"))));
  const csvOpts = h("div", { class: "grid-fields", id: "u-csv-options", hidden: true },
    ufield("label_column", "Label column", h("input", { type: "text", value: "label", autocomplete: "off" })),
    ufield("image_shape", "Image shape", h("input", { type: "text", placeholder: "e.g. 28,28,1", autocomplete: "off" }),
      "height, width, channels; empty: a square grayscale image"));
  const splitOpts = h("div", { class: "grid-fields" },
    ufield("val_fraction", "Validation fraction", h("input", { type: "number", min: 0.01, max: 0.5, step: 0.01, value: "0.1" })),
    ufield("split_seed", "Split seed", h("input", { type: "number", min: 0, step: 1, value: "0" })),
    h("div", { class: "field" }, h("span", { class: "field-label" }, "Split"),
      h("label", { class: "check", for: "u-stratified" },
        (u.stratified = h("input", { type: "checkbox", id: "u-stratified", checked: true })),
        h("span", {}, "stratified by class")),
      (() => { const e = h("p", { class: "field-error", id: "u-stratified-error", hidden: true }); uErrs.set("stratified", e); return e; })()));
  const nameField = ufield("name", "Dataset name", h("input", { type: "text", maxlength: "200", autocomplete: "off", placeholder: "e.g. my digits" }));
  const descField = ufield("description", "Description (optional)", h("input", { type: "text", maxlength: "2000", autocomplete: "off" }));
  const uError = h("div", { class: "form-error", id: "u-error", role: "alert", hidden: true });
  const progress = h("progress", { id: "u-progress", max: "1", value: "0", "aria-label": "Upload progress" });
  const progressText = h("span", { class: "muted small", id: "u-progress-text", "aria-live": "polite" });
  const progressRow = h("div", { class: "upload-progress", hidden: true }, progress, progressText);
  const uploadBtn = h("button", { type: "button", class: "btn btn-primary", id: "u-submit", onclick: () => doUpload() }, "Upload");
  const panel = h("details", { class: "upload-panel", id: "upload-panel" },
    h("summary", {}, "Upload a dataset"),
    h("div", { class: "upload-body" },
      fileField, h("div", { class: "grid-fields" }, nameField, descField),
      zipOpts, csvOpts,
      h("p", { class: "hint" }, "Validation split taken from the training data (the test split comes from the file when it has one):"),
      splitOpts, uError, progressRow,
      h("div", { class: "upload-actions" }, uploadBtn)));

  // Enter inside the panel uploads; it must not submit the search form around it.
  panel.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.target.tagName === "INPUT" && e.target.type !== "file") {
      e.preventDefault();
      doUpload();
    }
  });

  let autoName = "";
  u.file.addEventListener("change", () => {
    const f = u.file.files[0];
    const fmt = f ? formatOf(f.name) : "";
    zipOpts.hidden = fmt !== "zip";
    csvOpts.hidden = fmt !== "csv";
    if (f && !fmt) setUploadError("file", "Choose a .npz, .zip or .csv file.");
    if (f && (!u.name.value.trim() || u.name.value === autoName)) {
      autoName = f.name.replace(/\.[^.]+$/, "");
      u.name.value = autoName;
    }
  });

  function setUploadError(name, message) {
    const err = uErrs.get(name);
    const input = u[name];
    if (!err || (input && input.closest("[hidden]"))) return false;
    err.textContent = message;
    err.hidden = !message;
    if (input) {
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
    return true;
  }

  function clearUploadErrors() {
    for (const name of uErrs.keys()) setUploadError(name, "");
    uError.hidden = true;
  }

  function showUploadErrors(err) {
    const general = [];
    const items = err.fieldErrors;
    if (!items.length) general.push(err.status === 413 ? `Too large: ${err.message}` : err.message);
    for (const item of items) {
      const loc = (item.loc || []).slice(item.loc && item.loc[0] === "body" ? 1 : 0);
      const msg = String(item.msg || "invalid").replace(/^Value error, /, "");
      const where = loc.slice(1).join(".");
      const text = `${err.status === 413 ? "Too large: " : ""}${where && !msg.includes(where) ? `${where}: ` : ""}${msg}`;
      if (!(loc.length && setUploadError(loc[0], text))) general.push(loc.length ? `${loc.join(".")}: ${msg}` : msg);
    }
    if (general.length) {
      uError.textContent = `Upload refused: ${general.join(" · ")}`;
      uError.hidden = false;
    }
    const bad = panel.querySelector("[aria-invalid='true']");
    if (bad) bad.focus();
  }

  async function doUpload() {
    clearUploadErrors();
    const file = u.file.files[0];
    const problems = [];
    if (!file) problems.push(["file", "Choose a file to upload."]);
    else if (!formatOf(file.name)) problems.push(["file", "Choose a .npz, .zip or .csv file."]);
    if (!u.name.value.trim()) problems.push(["name", "Give the dataset a name."]);
    problems.forEach(([k, m]) => setUploadError(k, m));
    if (problems.length) { const bad = panel.querySelector("[aria-invalid='true']"); if (bad) bad.focus(); return; }
    const fmt = formatOf(file.name);
    const form = new FormData();
    form.append("name", u.name.value.trim());
    if (u.description.value.trim()) form.append("description", u.description.value.trim());
    if (fmt === "zip") {
      for (const k of ["height", "width"]) if (u[k].value.trim()) form.append(k, u[k].value.trim());
      form.append("color", u.color.value);
    }
    if (fmt === "csv") {
      if (u.label_column.value.trim()) form.append("label_column", u.label_column.value.trim());
      if (u.image_shape.value.trim()) form.append("image_shape", u.image_shape.value.trim());
    }
    form.append("val_fraction", u.val_fraction.value || "0.1");
    form.append("stratified", u.stratified.checked ? "true" : "false");
    form.append("split_seed", u.split_seed.value || "0");
    form.append("file", file, file.name);

    uploadBtn.disabled = true;
    uploadBtn.textContent = "Uploading…";
    progressRow.hidden = false;
    progress.value = 0;
    progressText.textContent = `Uploading ${bytes(file.size)}…`;
    try {
      const created = await api.uploadDataset(form, (fraction) => {
        if (fraction == null) { progress.removeAttribute("value"); return; }
        progress.value = fraction;
        progressText.textContent = fraction >= 1
          ? "Uploaded; checking the data…"
          : `Uploading ${Math.round(fraction * 100)}% of ${bytes(file.size)}`;
      });
      list = [...list.filter((d) => d.id !== created.id), created];
      renderCards();
      select(created.id);
      toast(`Uploaded “${created.name}”: ${num(created.train_size)} train · ${num(created.val_size)} val · ${num(created.test_size)} test`, "info");
      u.file.value = "";
      u.name.value = "";
      u.description.value = "";
      autoName = "";
      zipOpts.hidden = true;
      csvOpts.hidden = true;
      panel.open = false;
      progressRow.hidden = true;
      const input = cards.querySelector(`input[value="${CSS.escape(created.id)}"]`);
      if (input) input.focus();
    } catch (err) {
      progressRow.hidden = true;
      showUploadErrors(err);
    } finally {
      uploadBtn.disabled = false;
      uploadBtn.textContent = "Upload";
    }
  }

  renderCards();
  renderPreview();

  const el = h("div", { class: "dataset-picker" },
    h("div", { class: "dataset-layout" }, h("div", {}, cards, errorEl), preview), panel);

  return {
    el,
    errorEl,
    get value() { return value(); },
    select,
    focus() { const c = cards.querySelector("input:checked") || cards.querySelector("input"); if (c) c.focus(); },
  };
}
