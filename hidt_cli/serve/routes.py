"""The HTTP API (documented in docs/serve-api.md): the page uses nothing else, so scripts can do
whatever the page does. Requests are parsed and checked here; every render goes to the engine,
on a worker thread. A problem with a request is JSON `{"error": "..."}` with a 4xx status."""

from __future__ import annotations

import base64
import json
import logging
import math
import mimetypes
import traceback
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import torch
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

import hidt_cli
from hidt_cli.io.images import SUPPORTED_OUTPUT_FORMATS, ImageError, LoadedImage, read_image
from hidt_cli.serve.engine import Engine, default_format
from hidt_cli.serve.jobs import JobRunner, UnknownJob
from hidt_cli.serve.security import BodyTooLarge
from hidt_cli.serve.settings import ServeSettings
from hidt_cli.serve.store import UnknownPhoto, display_name
from hidt_cli.styles import StyleError

MAX_RANDOM = 64
MAX_TIMELAPSE_FRAMES = 240
LUT_SIZES = range(2, 129)
_SHOWN = "private, max-age=600"
"""Previews and views: their URL names photo and code, so the browser may keep them a while."""

log = logging.getLogger("hidt.serve")


class ApiError(Exception):
    """A request the API cannot serve, with the status and the line the client is shown."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Api:
    """The route handlers, over one engine and one job runner."""

    def __init__(self, engine: Engine, jobs: JobRunner, settings: ServeSettings) -> None:
        self.engine = engine
        self.jobs = jobs
        self.settings = settings

    def routes(self) -> list[Route]:
        photo = "/api/photos/{photo_id:str}"
        return [
            Route("/api/info", self.info),
            Route("/api/styles", self.styles),
            Route("/api/random", self.random),
            Route("/api/style", self.style, methods=["POST"]),
            Route("/api/translate", self.translate, methods=["POST"]),
            Route("/api/photos", self.photos),
            Route("/api/photos", self.upload, methods=["POST"]),
            Route(photo, self.photo),
            Route(f"{photo}/original", self.original),
            Route(f"{photo}/preview", self.preview),
            Route(f"{photo}/gallery", self.gallery),
            Route(f"{photo}/view", self.view),
            Route(f"{photo}/export", self.export),
            Route(f"{photo}/lut", self.lut),
            Route("/api/jobs/apply", self.apply_to_all, methods=["POST"]),
            Route("/api/jobs/timelapse", self.timelapse, methods=["POST"]),
            Route("/api/jobs/{job_id:str}", self.job),
            Route("/api/jobs/{job_id:str}/cancel", self.cancel, methods=["POST"]),
            Route("/api/jobs/{job_id:str}/result", self.result),
        ]

    # ------------------------------------------------------------ styles

    async def info(self, request: Request) -> Response:
        model = self.engine.model
        weights = model.info.generator.source if model.info else "in memory"
        return JSONResponse(
            {
                "version": hidt_cli.__version__,
                "weights": weights,
                "device": str(model.device),
                "style_dim": model.style_dim,
                "inference_size": self.settings.inference_size,
                "formats": list(SUPPORTED_OUTPUT_FORMATS),
                "max_upload_bytes": self.settings.max_upload_bytes,
                "max_pixels": self.settings.max_pixels,
            }
        )

    async def styles(self, request: Request) -> Response:
        presets = self.engine.presets()
        return JSONResponse({"styles": [{"name": n, "code": c} for n, c in presets.items()]})

    async def random(self, request: Request) -> Response:
        count = _int(request.query_params, "count", 1, range(1, MAX_RANDOM + 1))
        seed = _int(request.query_params, "seed", None, range(0, 2**63))
        codes = self.engine.random_codes(count, seed)
        return JSONResponse({"seed": seed, "codes": codes.tolist()})

    async def style(self, request: Request) -> Response:
        form = await _form(request)
        loaded = await self._decoded(_file(form, "image"))
        code = await run_in_threadpool(self.engine.style_of, loaded)
        return JSONResponse({"code": code.flatten().tolist()})

    # ------------------------------------------------------------ one-shot translation

    async def translate(self, request: Request) -> Response:
        form = await _form(request)
        upload = _file(form, "image")
        loaded = await self._decoded(upload)
        code = await self._form_style(form)
        fmt = _format(form.get("format")) or default_format(loaded.path)
        data = await run_in_threadpool(self.engine.translate, loaded, code, fmt)
        stem = loaded.path.rsplit(".", 1)[0] or "photo"
        return _file_response(data, fmt, f"{stem}_{form.get('preset') or 'style'}.{fmt}")

    async def _form_style(self, form: FormData) -> torch.Tensor:
        """Exactly one of the fields preset, style_code and style (an image)."""
        given = [name for name in ("preset", "style_code", "style") if form.get(name)]
        if len(given) != 1:
            which = "give only one" if given else "choose a style: give one"
            raise ApiError(400, f"{which} of the fields preset, style_code, style")
        styles = self.engine.styles
        if given == ["preset"]:
            return styles.preset(str(form["preset"]))
        if given == ["style_code"]:
            return styles.code(str(form["style_code"]))
        reference = await self._decoded(_file(form, "style"))
        return await run_in_threadpool(self.engine.style_of, reference)

    async def _decoded(self, upload: UploadFile) -> LoadedImage:
        data = await upload.read()
        name = display_name(upload.filename)
        return await run_in_threadpool(
            read_image, data, max_pixels=self.settings.max_pixels, name=name
        )

    # ------------------------------------------------------------ photos

    async def photos(self, request: Request) -> Response:
        listed = [
            {"id": s.id, "name": s.name, "origin": s.origin} for s in self.engine.store.sources()
        ]
        return JSONResponse({"photos": listed})

    async def upload(self, request: Request) -> Response:
        form = await _form(request)
        upload = _file(form, "image")
        data = await upload.read()
        described = await run_in_threadpool(self.engine.add_upload, data, upload.filename)
        return JSONResponse(described, status_code=201)

    async def photo(self, request: Request) -> Response:
        return JSONResponse(await self._call(self.engine.describe, request))

    async def original(self, request: Request) -> Response:
        size = request.query_params.get("size", "preview")
        if size not in ("thumb", "preview", "full"):
            raise ApiError(400, f"size {size!r}: use thumb, preview or full")
        data = await self._call(self.engine.original, request, size)
        return Response(data, media_type="image/jpeg", headers={"cache-control": _SHOWN})

    async def preview(self, request: Request) -> Response:
        code = await self._target(request)
        data = await self._call(self.engine.preview, request, code)
        return Response(data, media_type="image/jpeg", headers={"cache-control": _SHOWN})

    async def gallery(self, request: Request) -> Response:
        tiles = await self._call(self.engine.gallery, request)
        return JSONResponse(
            {
                "tiles": [
                    {"name": t["name"], "code": t["code"], "image": _data_url(t["jpeg"])}
                    for t in tiles
                ]
            }
        )

    async def view(self, request: Request) -> Response:
        code = await self._target(request)
        data = await self._call(self.engine.view, request, code)
        return Response(data, media_type="image/jpeg", headers={"cache-control": _SHOWN})

    async def export(self, request: Request) -> Response:
        code = await self._target(request)
        fmt = _format(request.query_params.get("format"))
        data = await self._call(self.engine.export, request, code, fmt)
        name = await self._call(self.engine.export_name, request, _label(request), fmt)
        return _file_response(data, name.rsplit(".", 1)[1], name, attachment=True)

    async def lut(self, request: Request) -> Response:
        code = await self._target(request)
        size = _int(request.query_params, "size", 33, LUT_SIZES)
        text = await self._call(self.engine.lut, request, code, size)
        name = await self._call(self.engine.export_name, request, _label(request), "cube")
        return Response(text, media_type="text/plain", headers=_disposition(name, True))

    async def _target(self, request: Request) -> torch.Tensor:
        """The code a photo route applies: `code` (a,b,c) or `preset`, at `strength` (0..1)
        from the photo's own style."""
        params = request.query_params
        given = [name for name in ("code", "preset") if params.get(name)]
        if len(given) != 1:
            raise ApiError(400, "give exactly one of the parameters code (a,b,c) and preset")
        styles = self.engine.styles
        code = styles.code(params["code"]) if "code" in given else styles.preset(params["preset"])
        strength = _float(params, "strength", 1.0)
        return await self._call(self.engine.target, request, code, strength)

    async def _call(self, method: Callable[..., Any], request: Request, *args: Any) -> Any:
        """An engine method on the photo the path names, on a worker thread."""
        return await run_in_threadpool(method, request.path_params["photo_id"], *args)

    # ------------------------------------------------------------ jobs

    async def apply_to_all(self, request: Request) -> Response:
        body = await _json(request)
        photo_ids = body.get("photos")
        if not isinstance(photo_ids, list) or not photo_ids:
            raise ApiError(400, "photos: give a list of photo ids")
        for photo_id in photo_ids:
            self.engine.store.source(str(photo_id))  # unknown ids are refused now
        code = self._json_style(body)
        strength = _number(body, "strength", 1.0)
        fmt = _format(body.get("format"))
        label = str(body.get("label") or body.get("preset") or "style")
        engine = self.engine

        def work(job):
            return engine.export_all(
                [str(i) for i in photo_ids], code, strength, fmt, label, job.result, job.advance
            )

        job = self.jobs.submit(
            "apply", len(photo_ids), f"hidt_{label}.zip", "application/zip", work
        )
        return JSONResponse(job.describe(), status_code=202)

    async def timelapse(self, request: Request) -> Response:
        body = await _json(request)
        photo_id = str(body.get("photo", ""))
        source = self.engine.store.source(photo_id)
        keyframes = str(body.get("keyframes", ""))
        self.engine.keyframe_codes(keyframes)  # a bad keyframe is refused now
        frames = int(_number(body, "frames", 48))
        if frames not in range(2, MAX_TIMELAPSE_FRAMES + 1):
            raise ApiError(400, f"frames {frames}: give 2 to {MAX_TIMELAPSE_FRAMES}")
        fps = _number(body, "fps", 24.0)
        if not 1 <= fps <= 120:
            raise ApiError(400, f"fps {fps}: give 1 to 120")
        engine = self.engine

        def work(job):
            engine.timelapse(photo_id, keyframes, frames, fps, job.result, job.advance)

        stem = source.name.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "photo"
        job = self.jobs.submit("timelapse", frames, f"{stem}_timelapse.mp4", "video/mp4", work)
        return JSONResponse(job.describe(), status_code=202)

    def _json_style(self, body: dict) -> torch.Tensor:
        styles = self.engine.styles
        if bool(body.get("code")) == bool(body.get("preset")):
            raise ApiError(400, "give exactly one of code (a,b,c) and preset")
        if body.get("preset"):
            return styles.preset(str(body["preset"]))
        return styles.code(str(body["code"]))

    async def job(self, request: Request) -> Response:
        return JSONResponse(self.jobs.get(request.path_params["job_id"]).describe())

    async def cancel(self, request: Request) -> Response:
        return JSONResponse(self.jobs.cancel(request.path_params["job_id"]).describe())

    async def result(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["job_id"])
        if job.state != "done":
            raise ApiError(409, f"job {job.id} is {job.state}: no result")
        return FileResponse(
            job.result,
            media_type=job.media_type,
            headers=_disposition(job.result_name, job.media_type != "video/mp4"),
        )


# ------------------------------------------------------------ errors


async def _api_error(request: Request, exc: Exception) -> Response:
    return _error(exc.status, str(exc))


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(404, str(exc))


async def _bad_request(request: Request, exc: Exception) -> Response:
    return _error(400, str(exc))


async def _too_large(request: Request, exc: Exception) -> Response:
    return _error(413, str(exc))


async def _http_error(request: Request, exc: HTTPException) -> Response:
    return _error(exc.status_code, f"{request.url.path}: {exc.detail}".lower())


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed:\n%s", request.method, request.url.path, traceback.format_exc())
    return _error(500, f"internal error: {type(exc).__name__}: {exc}")


EXCEPTION_HANDLERS = {
    ApiError: _api_error,
    UnknownPhoto: _not_found,
    UnknownJob: _not_found,
    ImageError: _bad_request,
    StyleError: _bad_request,
    BodyTooLarge: _too_large,
    HTTPException: _http_error,
    Exception: _internal_error,
}


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


# ------------------------------------------------------------ request parsing


async def _form(request: Request) -> FormData:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(415, "send a multipart/form-data body (curl -F image=@photo.jpg ...)")
    return await request.form(max_files=4, max_fields=16)


def _file(form: FormData, field: str) -> UploadFile:
    value = form.get(field)
    if not isinstance(value, UploadFile):
        raise ApiError(400, f"send the image as the file field {field!r} (-F {field}=@photo.jpg)")
    return value


async def _json(request: Request) -> dict:
    try:
        body = json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def _format(value: object) -> str | None:
    """An output format as the CLI spells it (jpeg → jpg), or None for the photo's own."""
    if value is None or value == "":
        return None
    fmt = str(value).lower().replace("jpeg", "jpg")
    if fmt not in SUPPORTED_OUTPUT_FORMATS:
        raise ApiError(400, f"format {fmt!r}: use one of {', '.join(SUPPORTED_OUTPUT_FORMATS)}")
    return fmt


def _label(request: Request) -> str:
    label = request.query_params.get("label") or request.query_params.get("preset") or "style"
    return display_name(label)


def _parsed(params, name: str, default, parse, what: str):
    """A query parameter parsed by `parse`, `default` when absent; a 400 naming it if not."""
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        return parse(text)
    except ValueError:
        raise ApiError(400, f"{name} {text!r} must be {what}") from None


def _int(params, name: str, default: int | None, allowed: range) -> int | None:
    value = _parsed(params, name, default, int, "a whole number")
    if value is not None and value not in allowed:
        raise ApiError(400, f"{name} {value} must be from {allowed.start} to {allowed.stop - 1}")
    return value


def _float(params, name: str, default: float) -> float:
    value = _parsed(params, name, default, float, "a number")
    if not math.isfinite(value):
        raise ApiError(400, f"{name} must be a finite number")
    return value


def _number(body: dict, name: str, default: float) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ApiError(400, f"{name} must be a number")
    return float(value)


# ------------------------------------------------------------ responses


def _media_type(fmt: str) -> str:
    return mimetypes.guess_type(f"x.{fmt}")[0] or "application/octet-stream"


def _disposition(name: str, attachment: bool) -> dict[str, str]:
    """Content-Disposition with the name as given (RFC 5987) and a plain-ASCII fallback."""
    fallback = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    kind = "attachment" if attachment else "inline"
    return {
        "content-disposition": f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
    }


def _file_response(data: bytes, fmt: str, name: str, attachment: bool = False) -> Response:
    return Response(data, media_type=_media_type(fmt), headers=_disposition(name, attachment))


def _data_url(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
