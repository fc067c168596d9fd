"""Turn an uploaded file (.npz, zip of class folders, CSV) into validated, normalized splits.

Pure numpy + Pillow, no TensorFlow, no database. Every refusal is an ``UploadError`` naming
the field or array at fault (``loc``) and the HTTP status (422, or 413 for size limits).
Zip archives (a .npz is one too) are judged from their directory (``ZipInfo``) before a single
member is read: no ``..``, no absolute names, no symlinks, bounded entry count, sizes and
compression ratio. Nothing is ever extracted to disk; members are read into memory one by one.
"""

from __future__ import annotations

import csv
import io
import math
import re
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any, Literal

import numpy as np

from backend.datasets.splits import Splits, array_checksum

# Limits (module constants: tests may lower them; they are not settings yet).
MAX_UPLOAD_BYTES = 512 * 1024 * 1024  # the request body
MAX_UNCOMPRESSED_BYTES = 2 * 1024 * 1024 * 1024  # all members of a zip/npz together
MAX_ZIP_ENTRIES = 250_000
MAX_COMPRESSION_RATIO = 100.0  # per member above RATIO_MIN_BYTES, and for the whole archive
RATIO_MIN_BYTES = 64 * 1024
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # one image file in a zip
MAX_IMAGE_PIXELS = 16_000_000  # one decoded image before resizing
MAX_EXAMPLES = 500_000
MAX_VALUES = 400_000_000  # examples x height x width x channels (float32: 1.6 GB)
MIN_SIDE, MAX_SIDE = 4, 512
MAX_CLASSES = 1000
MIN_PER_CLASS = 10
MAX_CSV_LINE = 1_000_000

NPZ_ARRAYS = ("x_train", "y_train", "x_test", "y_test", "class_names")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
# Archive clutter that is skipped rather than refused.
_JUNK = re.compile(r"(^|/)(__MACOSX|\.DS_Store|Thumbs\.db|desktop\.ini)(/|$)|(^|/)\._")

Color = Literal["grayscale", "rgb"]


class UploadError(Exception):
    """A refused upload: HTTP ``status``, ``loc`` (e.g. ``["body", "file", "y_train"]``)."""

    def __init__(self, loc: Sequence[str], message: str, status: int = 422) -> None:
        super().__init__(message)
        self.loc = ["body", *loc]
        self.message = message
        self.status = status


def _bad(field_: str, message: str, *sub: str, status: int = 422) -> UploadError:
    return UploadError([field_, *sub], message, status)


@dataclass(frozen=True)
class UploadOptions:
    """Form options; which apply depends on the file type."""

    height: int | None = None
    width: int | None = None
    color: Color = "grayscale"
    label_column: str = "label"
    image_shape: tuple[int, int, int] | None = None
    val_fraction: float = 0.1
    stratified: bool = True
    split_seed: int = 0


@dataclass
class Prepared:
    """What an accepted upload becomes: the splits, and what the dataset record says."""

    splits: Splits
    class_names: list[str]
    test_from_upload: bool
    checksum: str
    source_format: str
    class_counts: dict[str, list[int]] = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        h, w, c = self.splits.x_train.shape[1:]
        return int(h), int(w), int(c)


def parse_image_shape(text: str) -> tuple[int, int, int]:
    """``"28,28,1"`` or ``"28x28"`` -> (28, 28, 1); raises ValueError with a readable reason."""
    parts = [p for p in re.split(r"[,x\s]+", text.strip().strip("()[]")) if p]
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ValueError("expected 'height,width' or 'height,width,channels', e.g. '28,28,1'")
    dims = [int(p) for p in parts] + ([1] if len(parts) == 2 else [])
    h, w, c = dims
    if c not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {c}")
    if not (MIN_SIDE <= h <= MAX_SIDE and MIN_SIDE <= w <= MAX_SIDE):
        raise ValueError(f"height and width must lie in [{MIN_SIDE}, {MAX_SIDE}]")
    return h, w, c


# ----------------------------------------------------------------------------------- zips


def check_zip_directory(zf: zipfile.ZipFile, what: str = "file") -> list[zipfile.ZipInfo]:
    """Refuse dangerous or oversized archives from their directory alone; return the members."""
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise _bad(
            what,
            f"the archive has {len(infos)} entries; at most {MAX_ZIP_ENTRIES} are accepted",
            status=413,
        )
    total = compressed = 0
    for info in infos:
        name = info.filename
        if "\x00" in name:
            raise _bad(what, f"entry {name!r}: NUL byte in the name")
        posix = name.replace("\\", "/")
        if posix.startswith("/") or re.match(r"^[A-Za-z]:", posix):
            raise _bad(what, f"entry {name!r}: absolute paths are not accepted")
        if ".." in PurePosixPath(posix).parts:
            raise _bad(what, f"entry {name!r}: '..' (path traversal) is not accepted")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise _bad(what, f"entry {name!r}: symbolic links are not accepted")
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise _bad(what, f"entry {name!r}: only regular files and folders are accepted")
        if info.flag_bits & 0x1:
            raise _bad(what, f"entry {name!r}: encrypted entries are not accepted")
        if info.file_size > RATIO_MIN_BYTES:
            ratio = info.file_size / max(1, info.compress_size)
            if ratio > MAX_COMPRESSION_RATIO:
                raise _bad(
                    what,
                    f"entry {name!r} expands {ratio:.0f}x (limit {MAX_COMPRESSION_RATIO:.0f}x): "
                    "refused as a possible zip bomb",
                    status=413,
                )
        total += info.file_size
        compressed += info.compress_size
    if total > MAX_UNCOMPRESSED_BYTES:
        raise _bad(
            what,
            f"the archive expands to {total} bytes; at most {MAX_UNCOMPRESSED_BYTES} are accepted",
            status=413,
        )
    if total > RATIO_MIN_BYTES and total / max(1, compressed) > MAX_COMPRESSION_RATIO:
        raise _bad(
            what,
            f"the archive expands {total / max(1, compressed):.0f}x "
            f"(limit {MAX_COMPRESSION_RATIO:.0f}x): refused as a possible zip bomb",
            status=413,
        )
    return infos


def open_zip(handle: IO[bytes], what: str = "file") -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise _bad(what, f"not a readable zip archive (truncated or corrupt?): {exc}") from exc


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, what: str, limit: int) -> bytes:
    """Read one member fully into memory, never more than it declared (nor ``limit``)."""
    if info.file_size > limit:
        raise _bad(
            what, f"entry {info.filename!r} is {info.file_size} bytes (limit {limit})", status=413
        )
    try:
        with zf.open(info) as member:
            data = member.read(info.file_size + 1)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, RuntimeError) as exc:
        raise _bad(what, f"entry {info.filename!r} is truncated or corrupt: {exc}") from exc
    if len(data) != info.file_size:
        raise _bad(what, f"entry {info.filename!r} does not match its declared size")
    return data


# ------------------------------------------------------------------------------------ npz


def _read_npy(data: bytes, name: str) -> np.ndarray:
    buf = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buf)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(buf)
        else:
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(buf)
    except ValueError as exc:
        raise _bad("file", f"array {name!r} has an invalid .npy header: {exc}", name) from exc
    if dtype.hasobject:
        raise _bad(
            "file", f"array {name!r} holds Python objects (dtype {dtype}); not accepted", name
        )
    count = math.prod(shape)
    if count * max(1, dtype.itemsize) > MAX_UNCOMPRESSED_BYTES:
        raise _bad("file", f"array {name!r} of shape {shape} is too large", name, status=413)
    buf.seek(0)
    try:
        array = np.load(buf, allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        raise _bad("file", f"array {name!r} is truncated or corrupt: {exc}", name) from exc
    if not isinstance(array, np.ndarray):
        raise _bad("file", f"{name!r} is not an array", name)
    return array


def read_npz(handle: IO[bytes]) -> dict[str, np.ndarray]:
    """The arrays of a .npz, read with ``allow_pickle=False`` after the zip checks."""
    zf = open_zip(handle)
    with zf:
        infos = check_zip_directory(zf)
        arrays: dict[str, np.ndarray] = {}
        for info in infos:
            if info.is_dir():
                continue
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if name not in NPZ_ARRAYS:
                raise _bad(
                    "file",
                    f"unexpected array {name!r}; a .npz holds {', '.join(NPZ_ARRAYS)}",
                    name,
                )
            arrays[name] = _read_npy(_read_member(zf, info, "file", MAX_UNCOMPRESSED_BYTES), name)
    for required in ("x_train", "y_train"):
        if required not in arrays:
            raise _bad("file", f"the .npz has no {required!r} array", required)
    if ("x_test" in arrays) != ("y_test" in arrays):
        missing = "y_test" if "x_test" in arrays else "x_test"
        raise _bad("file", "x_test and y_test come together or not at all", missing)
    return arrays


def prepare_npz(handle: IO[bytes], options: UploadOptions) -> Prepared:
    arrays = read_npz(handle)
    names = None
    if "class_names" in arrays:
        raw = arrays["class_names"]
        if raw.dtype.kind not in "US" or raw.ndim != 1:
            raise _bad("file", "class_names must be a 1-D array of strings", "class_names")
        names = [str(v.decode() if isinstance(v, bytes) else v) for v in raw.tolist()]
    return finish(
        "npz",
        arrays["x_train"],
        arrays["y_train"],
        arrays.get("x_test"),
        arrays.get("y_test"),
        names,
        options,
    )


# ------------------------------------------------------------------------------- zip images


def _image_members(infos: list[zipfile.ZipInfo]) -> list[tuple[str, zipfile.ZipInfo]]:
    """(class name, member) for every image; refuse anything but ``[root/]class/image``."""
    files = [i for i in infos if not i.is_dir() and not _JUNK.search(i.filename.replace("\\", "/"))]
    if not files:
        raise _bad("file", "the zip holds no images; expected one folder of images per class")
    parts = [PurePosixPath(i.filename.replace("\\", "/")).parts for i in files]
    # One enclosing folder (zip of a folder) is stripped.
    if all(len(p) == 3 for p in parts) and len({p[0] for p in parts}) == 1:
        parts = [p[1:] for p in parts]
    out = []
    for info, p in zip(files, parts, strict=True):
        if len(p) != 2:
            raise _bad(
                "file",
                f"entry {info.filename!r}: expected class_folder/image (one folder per class)",
            )
        if PurePosixPath(p[1]).suffix.lower() not in IMAGE_SUFFIXES:
            raise _bad("file", f"entry {info.filename!r}: only PNG and JPEG images are accepted")
        out.append((p[0], info))
    return out


def _decode(data: bytes, name: str, size: tuple[int, int] | None, color: Color) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in ("PNG", "JPEG"):
                raise _bad("file", f"entry {name!r} is {img.format}, not PNG or JPEG")
            if img.width * img.height > MAX_IMAGE_PIXELS:
                raise _bad(
                    "file",
                    f"entry {name!r} is {img.width}x{img.height} pixels (limit {MAX_IMAGE_PIXELS})",
                    status=413,
                )
            converted = img.convert("L" if color == "grayscale" else "RGB")
            if size is not None and converted.size != (size[1], size[0]):
                converted = converted.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            array = np.asarray(converted, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _bad("file", f"entry {name!r} is not a readable image: {exc}") from exc
    return array[..., None] if array.ndim == 2 else array


def prepare_zip(handle: IO[bytes], options: UploadOptions) -> Prepared:
    zf = open_zip(handle)
    with zf:
        members = _image_members(check_zip_directory(zf))
        if len(members) > MAX_EXAMPLES:
            raise _bad("file", f"{len(members)} images; at most {MAX_EXAMPLES}", status=413)
        class_names = sorted({c for c, _ in members})
        if len(class_names) > MAX_CLASSES:
            raise _bad("file", f"{len(class_names)} class folders; at most {MAX_CLASSES}")
        index = {c: i for i, c in enumerate(class_names)}
        size = (options.height, options.width) if options.height and options.width else None
        channels = 1 if options.color == "grayscale" else 3
        images: list[np.ndarray] = []
        labels: list[int] = []
        for cls, info in sorted(members, key=lambda m: m[1].filename):
            image = _decode(
                _read_member(zf, info, "file", MAX_IMAGE_BYTES), info.filename, size, options.color
            )
            if size is None:
                size = image.shape[:2]
                if not all(MIN_SIDE <= s <= MAX_SIDE for s in size):
                    raise _bad(
                        "height",
                        f"images are {size[0]}x{size[1]}; choose height and width in "
                        f"[{MIN_SIDE}, {MAX_SIDE}] to resize them",
                    )
            if len(images) * size[0] * size[1] * channels > MAX_VALUES:
                raise _bad("file", "the images are too many for their size", status=413)
            images.append(image)
            labels.append(index[cls])
    x = np.stack(images)
    y = np.asarray(labels, dtype=np.int64)
    return finish("zip", x, y, None, None, class_names, options)


# ------------------------------------------------------------------------------------ csv


def prepare_csv(handle: IO[bytes], options: UploadOptions) -> Prepared:
    if options.image_shape is None:
        raise _bad("image_shape", "a CSV upload needs image_shape, e.g. '28,28,1'")
    h, w, c = options.image_shape
    text = io.TextIOWrapper(handle, encoding="utf-8", errors="strict", newline="")
    csv.field_size_limit(MAX_CSV_LINE)
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        raise _bad("file", "the CSV is empty") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise _bad("file", f"the CSV header is unreadable: {exc}") from exc
    header = [col.strip() for col in header]
    if options.label_column not in header:
        raise _bad(
            "label_column",
            f"no column {options.label_column!r} in the CSV header "
            f"(it starts {', '.join(header[:5])})",
        )
    label_at = header.index(options.label_column)
    pixels = len(header) - 1
    if pixels != h * w * c:
        raise _bad(
            "image_shape",
            f"image_shape {h},{w},{c} needs {h * w * c} pixel columns; the CSV has {pixels}",
        )
    if pixels * 2 > MAX_VALUES:
        raise _bad("image_shape", "images of that shape are too large", status=413)
    rows: list[np.ndarray] = []  # one float32 row each: a CSV of MNIST stays ~200 MB
    raw_labels: list[str] = []
    try:
        for line_no, row in enumerate(reader, start=2):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                raise _bad(
                    "file",
                    f"row {line_no} has {len(row)} fields, the header has {len(header)} "
                    "(truncated file?)",
                )
            if len(rows) >= MAX_EXAMPLES or (len(rows) + 1) * pixels > MAX_VALUES:
                raise _bad("file", f"more than {MAX_EXAMPLES} rows or values", status=413)
            raw_labels.append(row[label_at].strip())
            values = row[:label_at] + row[label_at + 1 :]
            try:
                rows.append(np.array(values, dtype=np.float32))
            except ValueError:
                bad = next((i for i, v in enumerate(values) if not _is_float(v)), None)
                if bad is None:  # numpy is stricter than float(): take Python's reading
                    rows.append(np.array([float(v) for v in values], dtype=np.float32))
                    continue
                col = header[bad if bad < label_at else bad + 1]
                raise _bad(
                    "file", f"row {line_no}, column {col!r}: {values[bad]!r} is not a number"
                ) from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise _bad("file", f"the CSV is unreadable: {exc}") from exc
    if not rows:
        raise _bad("file", "the CSV has a header but no rows")
    text.detach()  # leave the upload's file open for its owner to close
    x = np.stack(rows).reshape(len(rows), h, w, c)
    names: list[str] | None = None
    if all(re.fullmatch(r"[+-]?\d+", v) for v in raw_labels):
        y = np.asarray([int(v) for v in raw_labels], dtype=np.int64)
    else:
        names = sorted(set(raw_labels))
        lookup = {n: i for i, n in enumerate(names)}
        y = np.asarray([lookup[v] for v in raw_labels], dtype=np.int64)
    return finish("csv", x, y, None, None, names, options, label_loc=("label_column",))


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------- validation and splits


def _check_images(x: np.ndarray, name: str) -> np.ndarray:
    """Validate one image array and return it float32 in [0, 1], shaped (N, H, W, C)."""
    if x.dtype.kind not in "uif":
        raise _bad("file", f"{name} has dtype {x.dtype}; expected integers or floats", name)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise _bad(
            "file",
            f"{name} has shape {x.shape}; expected (N, height, width) or "
            "(N, height, width, channels) with 1 or 3 channels",
            name,
        )
    n, h, w, _ = x.shape
    if n == 0:
        raise _bad("file", f"{name} is empty", name)
    if not (MIN_SIDE <= h <= MAX_SIDE and MIN_SIDE <= w <= MAX_SIDE):
        raise _bad(
            "file",
            f"{name} images are {h}x{w}; height and width must lie in [{MIN_SIDE}, {MAX_SIDE}]",
            name,
        )
    if n > MAX_EXAMPLES or x.size > MAX_VALUES:
        raise _bad("file", f"{name} has {n} examples, {x.size} values: too large", name, status=413)
    if x.dtype.kind == "f":
        finite = np.isfinite(x)
        if not finite.all():
            first = tuple(int(i) for i in np.argwhere(~finite)[0])
            raise _bad(
                "file", f"{name} holds NaN or infinite values (first at index {first[0]})", name
            )
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 255:
        raise _bad(
            "file",
            f"{name} values span [{lo:g}, {hi:g}]; expected [0, 1] or [0, 255]",
            name,
        )
    scale = 1.0 if x.dtype.kind == "f" and hi <= 1.0 else 255.0
    return (x.astype(np.float32) / np.float32(scale)).astype(np.float32)


def _check_labels(
    y: np.ndarray, name: str, n: int, x_name: str, num_classes: int | None, loc: Sequence[str]
) -> np.ndarray:
    where = [*loc] if loc else ["file", name]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise _bad(where[0], f"{name} has shape {y.shape}; expected (N,) class indices", *where[1:])
    if len(y) != n:
        raise _bad(
            where[0], f"{name} has {len(y)} labels but {x_name} has {n} examples", *where[1:]
        )
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise _bad(where[0], f"{name} holds NaN or infinite labels", *where[1:])
        if not np.all(y == np.round(y)):
            raise _bad(where[0], f"{name} holds non-integer labels", *where[1:])
    elif y.dtype.kind not in "ui":
        raise _bad(where[0], f"{name} has dtype {y.dtype}; expected integer labels", *where[1:])
    y = y.astype(np.int64)
    top = num_classes if num_classes is not None else MAX_CLASSES
    bad = (y < 0) | (y >= top)
    if bad.any():
        value = int(y[bad][0])
        raise _bad(
            where[0],
            f"{name} holds label {value}, out of range: labels must lie in [0, {top - 1}]",
            *where[1:],
        )
    return y.astype(np.int32)


def _holdout(y: np.ndarray, fraction: float, stratified: bool, seed: int) -> np.ndarray:
    """Indices of a held-out share of ``y`` (per class when stratified), fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    if not stratified:
        order = rng.permutation(len(y))
        return np.sort(order[: max(1, round(fraction * len(y)))])
    picked = []
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        take = max(1, round(fraction * len(members))) if len(members) > 1 else 0
        picked.append(rng.permutation(members)[:take])
    return np.sort(np.concatenate(picked))


def split(
    x: np.ndarray, y: np.ndarray, fraction: float, stratified: bool, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    held = _holdout(y, fraction, stratified, seed)
    keep = np.ones(len(y), dtype=bool)
    keep[held] = False
    return x[keep], y[keep], x[held], y[held]


def finish(
    source: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray | None,
    y_test: np.ndarray | None,
    class_names: list[str] | None,
    options: UploadOptions,
    label_loc: Sequence[str] = (),
) -> Prepared:
    """Validate, normalize and split; the one path every format ends in."""
    xt = _check_images(x_train, "x_train")
    declared = len(class_names) if class_names is not None else None
    yt = _check_labels(y_train, "y_train", len(xt), "x_train", declared, label_loc)
    num_classes = declared if declared is not None else int(yt.max()) + 1
    label_at = list(label_loc or ("file", "y_train"))
    if num_classes > MAX_CLASSES:
        raise UploadError(label_at, f"{num_classes} classes; at most {MAX_CLASSES}")
    if num_classes < 2:
        raise UploadError(label_at, "at least 2 classes are needed")
    names = class_names or [str(i) for i in range(num_classes)]
    if len(set(names)) != len(names):
        raise _bad("file", "class_names must be distinct", "class_names")
    counts = np.bincount(yt, minlength=num_classes)
    if counts.min() < MIN_PER_CLASS:
        cls = int(counts.argmin())
        raise UploadError(
            label_at,
            f"class {names[cls]!r} has {int(counts[cls])} examples; every class needs at least "
            f"{MIN_PER_CLASS}",
        )
    if x_test is not None and y_test is not None:
        xs = _check_images(x_test, "x_test")
        if xs.shape[1:] != xt.shape[1:]:
            raise _bad(
                "file",
                f"x_test images are {xs.shape[1:]}, x_train images are {xt.shape[1:]}",
                "x_test",
            )
        ys = _check_labels(y_test, "y_test", len(xs), "x_test", num_classes, ())
        from_upload = True
    else:
        xt, yt, xs, ys = split(
            xt, yt, options.val_fraction, options.stratified, options.split_seed + 1
        )
        from_upload = False
    x_tr, y_tr, x_val, y_val = split(
        xt, yt, options.val_fraction, options.stratified, options.split_seed
    )
    splits = Splits(x_tr, y_tr, x_val, y_val, xs, ys)
    for part, labels in (("train", y_tr), ("validation", y_val)):
        if len(labels) == 0:
            raise _bad("val_fraction", f"the {part} split would be empty")
    return Prepared(
        splits=splits,
        class_names=names,
        test_from_upload=from_upload,
        checksum=array_checksum(splits),
        source_format=source,
        class_counts={
            "train": np.bincount(y_tr, minlength=num_classes).tolist(),
            "val": np.bincount(y_val, minlength=num_classes).tolist(),
            "test": np.bincount(ys, minlength=num_classes).tolist(),
        },
    )


def detect_format(filename: str, head: bytes) -> str:
    """npz | zip | csv from the name, checked against the first bytes."""
    suffix = PurePosixPath(filename.lower()).suffix
    is_zip = head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06")
    if suffix == ".npz":
        if not is_zip:
            raise _bad("file", "a .npz must be a zip of .npy arrays (np.savez)")
        return "npz"
    if suffix == ".zip":
        if not is_zip:
            raise _bad("file", "the file is not a zip archive")
        return "zip"
    if suffix in (".csv", ".txt"):
        return "csv"
    raise _bad("file", f"unsupported file type {suffix or '(none)'!r}; send .npz, .zip or .csv")


def prepare(handle: IO[bytes], filename: str, options: UploadOptions) -> Prepared:
    """Dispatch on the file type; ``handle`` must be seekable."""
    head = handle.read(8)
    handle.seek(0)
    fmt = detect_format(filename, head)
    readers: dict[str, Any] = {"npz": prepare_npz, "zip": prepare_zip, "csv": prepare_csv}
    result: Prepared = readers[fmt](handle, options)
    return result
