"""``POST /api/translate``: the content of one picture in the style of an exemplar (EGSC-IT, arXiv:1805.11145),
for runs whose task has the ``translate`` capability; every other run answers 409 "this run cannot translate"."""

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from semspace.service.deps import EngineDep, ViewDep
from semspace.service.errors import error_responses
from semspace.service.uploads import check_picture


def translate_router() -> APIRouter:
    router = APIRouter(tags=["translate"])

    @router.post("/translate", response_class=Response,
                 responses={200: {"content": {"image/png": {}}, "description": "the translation"},
                            **error_responses(400, 409, 413, 415, 422, 503, 504)},
                 summary="Translate a content picture into the style of an exemplar")  # fmt: skip
    async def translate(
        engine: EngineDep,
        view: ViewDep,
        content: Annotated[UploadFile, File(description="the picture whose content is kept")],
        exemplar: Annotated[UploadFile, File(description="the picture whose style is taken")],
        direction: Annotated[
            Literal["a2b", "b2a"],
            Form(
                description="a2b: the content is from the run's first domain and the exemplar from its second; b2a: "
                "the other way round"
            ),  # fmt: skip
        ] = "a2b",
    ) -> Response:
        view.require_capability("translate")
        view.translation_domains(direction)
        limit = engine.settings.max_pixels
        pics = []
        for field, upload in (("content", content), ("exemplar", exemplar)):
            pic = check_picture(await upload.read(), field=field, filename=upload.filename, max_pixels=limit)
            pics.append(pic)
        png = await engine.run(view.translate, pics[0], pics[1], direction)
        return Response(png, media_type="image/png")

    return router
