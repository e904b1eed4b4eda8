"""Bad answers are refused with a message that says what a good answer looks like, before any file
is written."""

from __future__ import annotations

import pytest

BAD_ANSWERS = [
    pytest.param({"project_name": ""}, "Give the project a name", id="empty-name"),
    pytest.param({"project_name": "   "}, "Give the project a name", id="blank-name"),
    pytest.param(
        {"project_name": "1st App"}, "Start the name with a letter", id="name-digit-first"
    ),
    pytest.param({"project_name": "App/Store"}, "letters, digits, spaces", id="name-slash"),
    pytest.param(
        {"project_slug": "my app"}, "lowercase letters, digits and dashes", id="slug-space"
    ),
    pytest.param(
        {"project_slug": "My-App"}, "lowercase letters, digits and dashes", id="slug-upper"
    ),
    pytest.param({"project_slug": "app-"}, "not ending with a dash", id="slug-trailing-dash"),
    pytest.param({"author_email": "founder"}, 'such as "ada@example.com"', id="email-no-at"),
    pytest.param({"author_email": "a@b"}, 'such as "ada@example.com"', id="email-no-tld"),
    pytest.param({"description": ""}, "Write one sentence", id="empty-description"),
    pytest.param({"author_name": ""}, "Give a name", id="empty-author"),
    pytest.param(
        {"tier": "mvp", "domain": "https://app.example.com"},
        "without scheme or path",
        id="domain-with-scheme",
    ),
    pytest.param({"tier": "growth", "domain": "localhost"}, "such as", id="domain-no-dot"),
    pytest.param(
        {"tier": "growth", "domain": "acme.example.org", "github_repository": "acme"},
        "as owner/name",
        id="repository-without-owner",
    ),
    pytest.param(
        {"tier": "mvp", "domain": "acme.example.org", "github_repository": "-acme/notes"},
        'such as "acme/acme-notes"',
        id="owner-starting-with-a-dash",
    ),
    pytest.param(
        {"tier": "mvp", "domain": "acme.example.org", "github_repository": "acme/my notes"},
        "as owner/name",
        id="repository-with-a-space",
    ),
    pytest.param({"tier": "platinum"}, "not in ['dev', 'mvp', 'growth']", id="unknown-tier"),
    pytest.param({"python_version": "3.8"}, "not in", id="old-python"),
]


@pytest.mark.parametrize(("answers", "message"), BAD_ANSWERS)
def test_bad_answer_is_refused_with_a_clear_message(copie, answers, message) -> None:
    result = copie.copy(extra_answers=answers)
    assert result.exit_code != 0
    assert message in str(result.exception)
    # Validation happens before rendering: nothing half-written is left behind.
    assert not [path for path in copie.test_dir.rglob("*") if path.is_file()]


def test_slug_defaults_from_the_name(copie) -> None:
    result = copie.copy(extra_answers={"project_name": "Acme Notes 2"})
    assert result.exit_code == 0, result.exception
    assert result.answers["project_slug"] == "acme-notes-2"
