"""POST/GET/DELETE /api/datasets: every upload format, and every kind of bad file refused with
a precise 4xx naming the field or array, leaving no file and no row behind."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select

from backend.core.config import Settings
from backend.datasets import ingest
from backend.datasets.splits import array_checksum, load_npz
from backend.db.models import Dataset
from tests.datasets.helpers import (
    class_zip,
    crafted_zip,
    csv_bytes,
    digits_arrays,
    npz_bytes,
    png_bytes,
    synthetic,
)

BUILTINS = {"digits", "fashion-mnist"}


def upload(client: TestClient, content: bytes, filename: str, **form: Any) -> Any:
    data = {"name": "test upload", **{k: str(v) for k, v in form.items()}}
    return client.post(
        "/api/datasets",
        files={"file": (filename, io.BytesIO(content), "application/octet-stream")},
        data=data,
    )


def rows(settings: Settings) -> int:
    engine = create_engine(settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(Dataset.__table__)) or 0)
    finally:
        engine.dispose()


def files(settings: Settings) -> list[str]:
    folder = settings.data_dir / "datasets"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def assert_refused(
    response: Any, settings: Settings, status: int, loc: list[str], client: TestClient
) -> None:
    assert response.status_code == status, response.text
    locs = [err["loc"] for err in response.json()["detail"]]
    assert loc in locs, locs
    assert all(err["msg"] for err in response.json()["detail"])
    assert files(settings) == [], "a refused upload left files behind"
    assert rows(settings) == 0, "a refused upload left a row behind"
    assert {d["id"] for d in client.get("/api/datasets").json()} == BUILTINS


# --------------------------------------------------------------------------- good uploads


def test_npz_upload_is_stored_normalized_and_listed(client: TestClient, settings: Settings) -> None:
    arrays = digits_arrays()
    response = upload(client, npz_bytes(**arrays), "digits.npz", name="my digits", split_seed=3)
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/api/datasets/{body['id']}"
    assert body["builtin"] is False
    assert body["input_shape"] == [8, 8, 1]
    assert body["num_classes"] == 10
    assert body["source_format"] == "npz"
    assert body["split"] == {
        "val_fraction": 0.1,
        "stratified": True,
        "seed": 3,
        "test_source": "upload",
    }
    assert body["test_size"] == len(arrays["y_test"])
    assert body["train_size"] + body["val_size"] == len(arrays["y_train"])
    assert sum(body["class_counts"]["val"]) == body["val_size"]
    # Stratified: every class is in the validation split.
    assert min(body["class_counts"]["val"]) >= 1

    stored = load_npz(str(settings.data_dir / "datasets" / f"{body['id']}.npz"))
    assert stored.x_train.dtype == np.float32 and stored.x_train.shape[1:] == (8, 8, 1)
    assert stored.x_train.min() >= 0.0 and stored.x_train.max() <= 1.0
    assert stored.y_train.dtype == np.int32
    np.testing.assert_allclose(stored.x_test[..., 0], arrays["x_test"] / 255.0, atol=1e-6)
    assert body["checksum"] == array_checksum(stored)

    listed = {d["id"]: d for d in client.get("/api/datasets").json()}
    assert set(listed) == BUILTINS | {body["id"]}
    assert listed[body["id"]]["checksum"] == body["checksum"]
    assert client.get(f"/api/datasets/{body['id']}").json()["id"] == body["id"]
    preview = client.get(f"/api/datasets/{body['id']}/preview.png")
    assert preview.status_code == 200
    assert preview.headers["content-type"] == "image/png"
    assert preview.content.startswith(b"\x89PNG")


def test_npz_without_test_split_holds_one_out(client: TestClient) -> None:
    x, y = synthetic(classes=3, per_class=20)
    response = upload(
        client,
        npz_bytes(
            x_train=x.astype(np.float32) / 255, y_train=y, class_names=np.array(["a", "b", "c"])
        ),
        "d.npz",
        val_fraction=0.2,
        stratified="false",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["class_names"] == ["a", "b", "c"]
    assert body["split"]["test_source"] == "held_out"
    assert body["split"]["stratified"] is False
    assert body["train_size"] + body["val_size"] + body["test_size"] == 60
    assert body["test_size"] == 12


def test_zip_of_class_folders_is_resized_and_colored(
    client: TestClient, settings: Settings
) -> None:
    response = upload(client, class_zip(), "pets.zip", height=16, width=20, color="rgb")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["class_names"] == ["cat", "dog"]
    assert body["input_shape"] == [16, 20, 3]
    assert body["source_format"] == "zip"
    assert body["train_size"] + body["val_size"] + body["test_size"] == 24
    stored = load_npz(str(settings.data_dir / "datasets" / f"{body['id']}.npz"))
    assert stored.x_train.shape[1:] == (16, 20, 3)


def test_zip_grayscale_default_keeps_image_size(client: TestClient) -> None:
    response = upload(client, class_zip(size=(9, 11)), "pets.zip")
    assert response.status_code == 201, response.text
    assert response.json()["input_shape"] == [9, 11, 1]


def test_csv_with_label_column_and_image_shape(client: TestClient) -> None:
    x, y = synthetic(classes=2, per_class=15, side=6)
    response = upload(
        client, csv_bytes(x, y, label="digit"), "px.csv", label_column="digit", image_shape="6,6,1"
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["input_shape"] == [6, 6, 1]
    assert body["num_classes"] == 2
    assert body["source_format"] == "csv"


def test_csv_string_labels_become_class_names(client: TestClient) -> None:
    x, y = synthetic(classes=2, per_class=12, side=4)
    content = csv_bytes(x, y, names=["yes", "no"])
    response = upload(client, content, "px.csv", image_shape="4x4")
    assert response.status_code == 201, response.text
    assert response.json()["class_names"] == ["no", "yes"]


def test_builtin_preview_and_detail(client: TestClient) -> None:
    assert client.get("/api/datasets/digits").json()["builtin"] is True
    preview = client.get("/api/datasets/digits/preview.png")
    assert preview.status_code == 200 and preview.content.startswith(b"\x89PNG")
    assert client.get("/api/datasets/nope").status_code == 404
    assert client.get("/api/datasets/nope/preview.png").status_code == 404


# ------------------------------------------------------------------------- delete and use


def test_search_uses_upload_and_delete_is_409_while_queued(
    client: TestClient, settings: Settings
) -> None:
    dataset_id = upload(client, npz_bytes(**digits_arrays()), "d.npz").json()["id"]
    search = client.post(
        "/api/searches",
        json={"name": "on upload", "dataset": dataset_id, "population_size": 4, "generations": 1},
    )
    assert search.status_code == 201, search.text
    search_id = search.json()["id"]
    graph_dataset = search.json()["dataset"]
    assert graph_dataset == dataset_id

    refused = client.delete(f"/api/datasets/{dataset_id}")
    assert refused.status_code == 409
    assert str(search_id) in refused.json()["detail"]
    assert rows(settings) == 1

    client.post(f"/api/searches/{search_id}/cancel")
    assert client.delete(f"/api/datasets/{dataset_id}").status_code == 204
    assert files(settings) == []
    assert rows(settings) == 0
    assert client.get(f"/api/datasets/{dataset_id}").status_code == 404
    assert client.delete(f"/api/datasets/{dataset_id}").status_code == 404


def test_builtin_cannot_be_deleted(client: TestClient) -> None:
    assert client.delete("/api/datasets/digits").status_code == 409


# --------------------------------------------------------------------------- bad uploads


def _digits(**changes: Any) -> bytes:
    arrays: dict[str, Any] = digits_arrays()
    arrays.update(changes)
    return npz_bytes(**{k: v for k, v in arrays.items() if v is not None})


def _nan() -> bytes:
    x = digits_arrays()["x_train"].astype(np.float32)
    x[5, 3, 3] = np.nan
    return _digits(x_train=x)


def _inf_test() -> bytes:
    x = digits_arrays()["x_test"].astype(np.float64)
    x[0, 0, 0] = np.inf
    return _digits(x_test=x)


def _object_array() -> bytes:
    buf = io.BytesIO()
    arrays = digits_arrays()
    labels = np.empty(len(arrays["y_train"]), dtype=object)
    labels[:] = list(arrays["y_train"])
    np.savez(buf, x_train=arrays["x_train"], y_train=labels)
    return buf.getvalue()


def _truncated_npz() -> bytes:
    content = _digits()
    return content[: len(content) // 2]


def _too_few() -> bytes:
    x, y = synthetic(classes=3, per_class=12)
    y[:8] = 1  # class 0 keeps 4 examples
    return npz_bytes(x_train=x, y_train=y)


def _bomb() -> bytes:
    return crafted_zip([("a/0.png", b"\0" * 5_000_000), ("b/0.png", b"\0" * 10)])


def _many_entries() -> bytes:
    return crafted_zip([(f"c{i % 2}/{i}.png", b"") for i in range(ingest.MAX_ZIP_ENTRIES + 1)])


def _good_png() -> bytes:
    return png_bytes(np.zeros((8, 8), dtype=np.uint8))


BAD: list[tuple[str, Callable[[], bytes], str, dict, int, list[str]]] = [
    # (id, content, filename, form, status, loc)
    ("nan", _nan, "d.npz", {}, 422, ["body", "file", "x_train"]),
    ("inf in x_test", _inf_test, "d.npz", {}, 422, ["body", "file", "x_test"]),
    ("object array", _object_array, "d.npz", {}, 422, ["body", "file", "y_train"]),
    ("truncated npz", _truncated_npz, "d.npz", {}, 422, ["body", "file"]),
    (
        "labels out of range",
        lambda: _digits(y_train=np.where(np.arange(1437) == 7, -1, digits_arrays()["y_train"])),
        "d.npz",
        {},
        422,
        ["body", "file", "y_train"],
    ),
    (
        "test label beyond train classes",
        lambda: _digits(y_test=np.full(360, 10)),
        "d.npz",
        {},
        422,
        ["body", "file", "y_test"],
    ),
    (
        "non-integer labels",
        lambda: _digits(y_train=digits_arrays()["y_train"] + 0.5),
        "d.npz",
        {},
        422,
        ["body", "file", "y_train"],
    ),
    (
        "mismatched lengths",
        lambda: _digits(y_train=digits_arrays()["y_train"][:-3]),
        "d.npz",
        {},
        422,
        ["body", "file", "y_train"],
    ),
    ("too few per class", _too_few, "d.npz", {}, 422, ["body", "file", "y_train"]),
    (
        "wrong dtype",
        lambda: _digits(x_train=digits_arrays()["x_train"].astype(np.complex64)),
        "d.npz",
        {},
        422,
        ["body", "file", "x_train"],
    ),
    (
        "wrong shape",
        lambda: _digits(x_train=digits_arrays()["x_train"].reshape(1437, 64)),
        "d.npz",
        {},
        422,
        ["body", "file", "x_train"],
    ),
    (
        "test shape differs",
        lambda: _digits(x_test=np.zeros((360, 9, 9), dtype=np.uint8)),
        "d.npz",
        {},
        422,
        ["body", "file", "x_test"],
    ),
    (
        "values out of range",
        lambda: _digits(x_train=digits_arrays()["x_train"].astype(np.int32) * 4),
        "d.npz",
        {},
        422,
        ["body", "file", "x_train"],
    ),
    (
        "missing y_train",
        lambda: npz_bytes(x_train=digits_arrays()["x_train"]),
        "d.npz",
        {},
        422,
        ["body", "file", "y_train"],
    ),
    (
        "unknown array",
        lambda: _digits(extra=np.zeros(3)),
        "d.npz",
        {},
        422,
        ["body", "file", "extra"],
    ),
    (
        "x_test without y_test",
        lambda: _digits(y_test=None),
        "d.npz",
        {},
        422,
        ["body", "file", "y_test"],
    ),
    ("npz not a zip", lambda: b"\x93NUMPY not really", "d.npz", {}, 422, ["body", "file"]),
    ("unsupported type", lambda: b"GIF89a", "d.gif", {}, 422, ["body", "file"]),
    (
        "zip path traversal",
        lambda: crafted_zip([("a/0.png", _good_png()), ("../x.png", _good_png())]),
        "d.zip",
        {},
        422,
        ["body", "file"],
    ),
    (
        "zip nested traversal",
        lambda: crafted_zip([("a/../../x.png", _good_png())]),
        "d.zip",
        {},
        422,
        ["body", "file"],
    ),
    (
        "zip absolute path",
        lambda: crafted_zip([("a/0.png", _good_png()), ("/etc/x.png", _good_png())]),
        "d.zip",
        {},
        422,
        ["body", "file"],
    ),
    (
        "zip symlink",
        lambda: crafted_zip(
            [("a/0.png", _good_png()), ("a/link.png", b"/etc/passwd")], symlink="a/link.png"
        ),
        "d.zip",
        {},
        422,
        ["body", "file"],
    ),
    ("zip bomb ratio", _bomb, "d.zip", {}, 413, ["body", "file"]),
    ("zip too many entries", _many_entries, "d.zip", {}, 413, ["body", "file"]),
    (
        "truncated zip",
        lambda: class_zip()[:-200],
        "d.zip",
        {},
        422,
        ["body", "file"],
    ),
    (
        "zip not images",
        lambda: crafted_zip([("a/0.txt", b"hello")]),
        "d.zip",
        {},
        422,
        ["body", "file"],
    ),
    (
        "zip corrupt image",
        lambda: crafted_zip([(f"{c}/{i}.png", b"\x89PNG broken") for c in "ab" for i in range(10)]),
        "d.zip",
        {},
        422,
        ["body", "file"],
    ),
    (
        "zip too few per class",
        lambda: class_zip(per_class=3),
        "d.zip",
        {},
        422,
        ["body", "file", "y_train"],
    ),
    (
        "csv without image_shape",
        lambda: csv_bytes(*synthetic(side=4)),
        "d.csv",
        {},
        422,
        ["body", "image_shape"],
    ),
    (
        "csv wrong image_shape",
        lambda: csv_bytes(*synthetic(side=4)),
        "d.csv",
        {"image_shape": "5,5,1"},
        422,
        ["body", "image_shape"],
    ),
    (
        "csv bad image_shape text",
        lambda: csv_bytes(*synthetic(side=4)),
        "d.csv",
        {"image_shape": "big"},
        422,
        ["body", "image_shape"],
    ),
    (
        "csv missing label column",
        lambda: csv_bytes(*synthetic(side=4)),
        "d.csv",
        {"image_shape": "4,4", "label_column": "target"},
        422,
        ["body", "label_column"],
    ),
    (
        "csv truncated row",
        lambda: csv_bytes(*synthetic(side=4))[:-20],
        "d.csv",
        {"image_shape": "4,4"},
        422,
        ["body", "file"],
    ),
    (
        "csv text pixel",
        lambda: csv_bytes(*synthetic(side=4)).replace(b"\n1,", b"\n1,x", 1),
        "d.csv",
        {"image_shape": "4,4"},
        422,
        ["body", "file"],
    ),
    ("empty name", lambda: _digits(), "d.npz", {"name": ""}, 422, ["body", "name"]),
    (
        "bad val_fraction",
        lambda: _digits(),
        "d.npz",
        {"val_fraction": "0.9"},
        422,
        ["body", "val_fraction"],
    ),
    ("bad color", lambda: class_zip(), "d.zip", {"color": "cmyk"}, 422, ["body", "color"]),
]


@pytest.mark.parametrize(
    ("content", "filename", "form", "status", "loc"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD],
)
def test_bad_upload_is_refused_naming_the_problem(
    client: TestClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    content: Callable[[], bytes],
    filename: str,
    form: dict,
    status: int,
    loc: list[str],
) -> None:
    monkeypatch.setattr(ingest, "MAX_ZIP_ENTRIES", 50)
    assert_refused(upload(client, content(), filename, **form), settings, status, loc, client)


def test_nan_csv_pixel_is_named(client: TestClient, settings: Settings) -> None:
    x, y = synthetic(side=4)
    content = csv_bytes(x, y).decode().splitlines()
    cells = content[3].split(",")
    cells[5] = "nan"
    content[3] = ",".join(cells)
    response = upload(client, ("\n".join(content) + "\n").encode(), "d.csv", image_shape="4,4")
    assert_refused(response, settings, 422, ["body", "file", "x_train"], client)
    assert "NaN" in response.json()["detail"][0]["msg"]


def test_upload_over_the_size_limit_is_413(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "MAX_UPLOAD_BYTES", 10_000)
    response = upload(client, _digits(), "d.npz")
    assert_refused(response, settings, 413, ["body", "file"], client)


def test_missing_file_is_422(client: TestClient, settings: Settings) -> None:
    response = client.post("/api/datasets", data={"name": "x"}, files={"other": ("a", b"b")})
    assert response.status_code == 422
    assert rows(settings) == 0


def test_failed_insert_leaves_no_files(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files are moved into place inside the transaction: a failing commit removes them."""
    from backend.services import datasets as service

    monkeypatch.setattr(service, "new_id", lambda name: "fixed-id")
    assert upload(client, _digits(), "d.npz").status_code == 201
    with pytest.raises(Exception):  # noqa: B017  (the duplicate primary key)
        upload(client, _digits(), "d.npz")
    assert files(settings) == ["fixed-id.npz", "fixed-id.png"]
    assert rows(settings) == 1


def test_chunked_upload_over_the_limit_is_413_while_streaming(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a Content-Length the body is counted as it arrives and cut off at the limit."""
    monkeypatch.setattr(ingest, "MAX_UPLOAD_BYTES", 10_000)
    boundary = "nasboardboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nbig\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="d.npz"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    payload = _digits()

    def chunks() -> Any:
        yield head
        for start in range(0, len(payload), 4096):
            yield payload[start : start + 4096]
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        "/api/datasets",
        content=chunks(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert_refused(response, settings, 413, ["body", "file"], client)
