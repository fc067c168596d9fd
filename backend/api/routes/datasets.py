"""Datasets a search can use (built-ins and uploads), uploads, previews, and the presets."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field, ValidationError, field_validator
from starlette.datastructures import UploadFile

from backend.api.auth import PrincipalDep
from backend.api.deps import DbDep, SettingsDep
from backend.api.errors import CONFLICT, LIMITED
from backend.datasets import ingest
from backend.datasets.info import DatasetInfo
from backend.datasets.ingest import UploadError, UploadOptions
from backend.datasets.registry import dataset_info, list_datasets, upload_info
from backend.db.models import Dataset
from backend.schemas.dataset import DatasetDetail, DatasetPublic, SplitPolicy
from backend.search.space import PRESETS
from backend.services import datasets as service
from backend.services.errors import NotFound

router = APIRouter(tags=["datasets"])

UPLOAD_FIELDS = (
    "name",
    "description",
    "height",
    "width",
    "color",
    "label_column",
    "image_shape",
    "val_fraction",
    "stratified",
    "split_seed",
)


class UploadForm(BaseModel):
    """The form fields beside ``file``; validated like a JSON body (422 naming the field)."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    height: int | None = Field(default=None, ge=ingest.MIN_SIDE, le=ingest.MAX_SIDE)
    width: int | None = Field(default=None, ge=ingest.MIN_SIDE, le=ingest.MAX_SIDE)
    color: Literal["grayscale", "rgb"] = "grayscale"
    label_column: str = Field(default="label", min_length=1, max_length=200)
    image_shape: tuple[int, int, int] | None = None
    val_fraction: float = Field(default=0.1, ge=0.01, le=0.5)
    stratified: bool = True
    split_seed: int = Field(default=0, ge=0, le=2**32 - 1)

    @field_validator("image_shape", mode="before")
    @classmethod
    def _shape(cls, value: Any) -> Any:
        if isinstance(value, str):
            return ingest.parse_image_shape(value) if value.strip() else None
        return value

    @field_validator("height", "width", "split_seed", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    def options(self) -> UploadOptions:
        return UploadOptions(
            height=self.height,
            width=self.width,
            color=self.color,
            label_column=self.label_column,
            image_shape=self.image_shape,
            val_fraction=self.val_fraction,
            stratified=self.stratified,
            split_seed=self.split_seed if self.split_seed is not None else 0,
        )


class _TooLarge(Exception):
    pass


def _refusal(status_code: int, loc: list[str], message: str) -> JSONResponse:
    detail = [{"loc": loc, "msg": message, "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=status_code)


def _public(info: DatasetInfo) -> DatasetPublic:
    return DatasetPublic(
        id=info.id,
        name=info.name,
        description=info.description,
        input_shape=list(info.input_shape),
        num_classes=info.num_classes,
        class_names=list(info.class_names),
        train_size=info.train_size,
        val_size=info.val_size,
        test_size=info.test_size,
        builtin=info.builtin,
        checksum=info.checksum,
        preview_url=f"/api/datasets/{info.id}/preview.png",
    )


def _detail(row: Dataset) -> DatasetDetail:
    """The listing's fields (one mapping, via the registry's ``upload_info``) plus the record."""
    return DatasetDetail(
        **_public(upload_info(row)).model_dump(),
        source_format=row.source_format,
        source_filename=row.source_filename,
        source_sha256=row.source_sha256,
        class_counts=row.class_counts,
        split=SplitPolicy(
            val_fraction=row.val_fraction,
            stratified=row.stratified,
            seed=int(row.split_seed),
            test_source=row.test_source,
        ),
        size=int(row.size),
        created_at=row.created_at,
    )


@router.get("/datasets", response_model=list[DatasetPublic])
def get_datasets(db: DbDep, principal: PrincipalDep) -> list[DatasetPublic]:
    """Built-in datasets and the caller's uploads (an admin sees every upload)."""
    mine = service.visible_upload_ids(db, principal)
    return [_public(info) for info in list_datasets(db) if info.builtin or info.id in mine]


_UPLOAD_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "name"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": ".npz (x_train, y_train[, x_test, y_test, "
                            "class_names]), .zip (one folder of PNG/JPEG per class) or .csv",
                        },
                        **{k: {"type": "string"} for k in UPLOAD_FIELDS},
                    },
                }
            }
        },
    }
}


@router.post(
    "/datasets",
    status_code=status.HTTP_201_CREATED,
    response_model=DatasetDetail,
    openapi_extra=_UPLOAD_DOC,
    responses={
        413: {"description": "Too large"},
        422: {"description": "Invalid upload"},
        **LIMITED,
    },
)
async def upload_dataset(
    request: Request, db: DbDep, settings: SettingsDep, response: Response, principal: PrincipalDep
) -> Any:
    """Upload a dataset as multipart form data: ``file``, ``name`` and the options."""
    limit = ingest.MAX_UPLOAD_BYTES
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return _refusal(413, ["body", "file"], f"the upload exceeds {limit} bytes")
    seen = 0
    receive = request.receive

    async def counting_receive() -> Any:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge
        return message

    limited = Request(request.scope, counting_receive)
    try:
        form = await limited.form(max_files=1, max_fields=len(UPLOAD_FIELDS) + 1)
    except _TooLarge:
        return _refusal(413, ["body", "file"], f"the upload exceeds {limit} bytes")
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return _refusal(422, ["body", "file"], "a file is required (multipart field 'file')")
        unknown = [k for k in form if k not in (*UPLOAD_FIELDS, "file")]
        if unknown:
            return _refusal(422, ["body", unknown[0]], f"unknown field {unknown[0]!r}")
        try:
            fields = UploadForm.model_validate(
                {k: v for k, v in form.items() if k != "file" and isinstance(v, str)}
            )
        except ValidationError as exc:
            errors = [
                {"loc": ["body", *map(str, e["loc"][:1])], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors()
            ]
            return JSONResponse({"detail": errors}, status_code=422)
        try:
            dataset_id = await run_in_threadpool(
                service.create_dataset,
                db,
                settings,
                handle=upload.file,
                filename=upload.filename or "",
                name=fields.name,
                description=fields.description,
                options=fields.options(),
                owner_id=principal.user_id,
            )
        except UploadError as exc:
            return _refusal(exc.status, exc.loc, exc.message)
    finally:
        await form.close()
    row = service.get_dataset(db, dataset_id)
    assert row is not None
    response.headers["Location"] = f"/api/datasets/{dataset_id}"
    return _detail(row)


@router.get("/datasets/{dataset_id}", response_model=DatasetDetail | DatasetPublic)
def get_dataset(
    dataset_id: str, db: DbDep, principal: PrincipalDep
) -> DatasetDetail | DatasetPublic:
    row = service.get_dataset(db, dataset_id, principal)
    if row is not None:
        return _detail(row)
    info = dataset_info(db, dataset_id)
    if info is None or not info.builtin:
        raise NotFound(f"dataset {dataset_id!r} not found")
    return _public(info)


@router.get(
    "/datasets/{dataset_id}/preview.png",
    response_class=FileResponse,
    responses={200: {"content": {"image/png": {}}}},
)
async def get_preview(
    dataset_id: str, db: DbDep, settings: SettingsDep, principal: PrincipalDep
) -> FileResponse:
    """A grid of training samples: one row per class (in class order), up to 8 each."""
    path = await run_in_threadpool(service.preview_path, db, settings, dataset_id, principal)
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "max-age=3600"})


@router.delete("/datasets/{dataset_id}", status_code=status.HTTP_204_NO_CONTENT, responses=CONFLICT)
def delete_dataset(
    dataset_id: str, db: DbDep, settings: SettingsDep, principal: PrincipalDep
) -> Response:
    service.delete_dataset(db, settings, dataset_id, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/presets")
def get_presets() -> dict[str, Any]:
    """Search-space presets by name; ``seed`` is the seed document's space."""
    return {name: space.model_dump(mode="json") for name, space in PRESETS.items()}
