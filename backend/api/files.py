"""Serve stored files with a server-chosen name and their sha256 as the ETag."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import FileResponse

from backend.core.config import Settings
from backend.db.models import Artifact
from backend.services.artifacts import FORMATS
from backend.services.errors import NotFound


def artifact_response(
    settings: Settings, artifact: Artifact, stem: str, request: Request
) -> Response:
    path = (settings.data_dir / artifact.path).resolve()
    if not path.is_file() or settings.data_dir.resolve() not in path.parents:
        raise NotFound("the model file is missing from the data directory")
    etag = f'"{artifact.sha256}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=stem + FORMATS[artifact.format],
        headers={"ETag": etag, "X-Checksum-Sha256": artifact.sha256},
    )
