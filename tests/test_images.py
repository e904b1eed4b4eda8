"""Every third-party image a rendered project names is the one extensions/shared.toml gives its
tier: compose, Kubernetes, CI service containers and Dockerfiles never drift apart."""

from __future__ import annotations

import re

import pytest
from conftest import VARIANTS, rendered_files, variant_answers, variant_id

from extensions.context import images

# `image: x` (compose, Kubernetes, workflows) and `FROM x` (Dockerfiles).
IMAGE_LINE = re.compile(r"^\s*(?:-\s*)?(?:image:|FROM)\s+(\S+)", re.MULTILINE)


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_every_third_party_image_is_the_one_shared_toml_names(render, variant) -> None:
    project = render(**variant_answers(variant))
    expected = images(variant["tier"])
    repositories = {image.rsplit(":", 1)[0]: image for image in expected.values()}
    named = {
        (path.name, image)
        for path in rendered_files(project)
        for image in IMAGE_LINE.findall(path.read_text(errors="ignore"))
    }
    drifted = sorted(
        (name, image)
        for name, image in named
        if image.rsplit(":", 1)[0] in repositories and image not in expected.values()
    )
    assert drifted == []
    # The table is used: postgres and redis appear in every variant.
    assert {expected["postgres"], expected["redis"]} <= {image for _, image in named}
