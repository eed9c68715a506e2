"""Every tampering case of tests/tamper_cases.py is caught by polite_crawl's verifier, with the
message of the rule that catches it, and by the verifier written from docs/format.md alone
(tests/spec_verifier.py): the specification is enough to check an export."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest
import spec_verifier
from tamper_cases import CASES, GRANT, REDDIT, Sample, copy, export

from polite_crawl.audit.keys import read_public
from polite_crawl.testing.crawl import run_cli, run_crawl
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    base = tmp_path_factory.mktemp("sample")
    (base / "consents.toml").write_text(GRANT)
    audit = base / "audit"
    settings = {
        "POLITE_CRAWL_PURPOSES": ["research"],
        "POLITE_CRAWL_CONSENTS": str(base / "consents.toml"),
        "POLITE_CRAWL_AUDIT_DIR": str(audit),
        "POLITE_CRAWL_AUDIT_CHECKPOINT_EVERY": 3,
    }
    with MockWeb(
        {
            REDDIT + "/robots.txt": Resp(body="User-agent: *\nDisallow: /private\n"),
            REDDIT + "/r/science/": page(
                "/r/science/top",
                "/private/x",
                "/r/science/new",
                "http://blog.test/",
                "https://x.com/someone",
            ),
            REDDIT + "/r/science/top": page(),
            REDDIT + "/r/science/new": page("/r/science/old"),
            REDDIT + "/r/science/old": page(),
            "http://blog.test/robots.txt": Resp(404),
            "http://blog.test/": page(),
        }
    ) as web:
        first = run_crawl(web, base / "run1", [REDDIT + "/r/science/"], settings)
        assert first.returncode == 0, first.log
        shutil.copytree(audit, base / "earlier")
        second = run_crawl(web, base / "run2", [REDDIT + "/r/science/"], settings)
        assert second.returncode == 0, second.log
    scratch = base / "scratch"
    scratch.mkdir()
    return Sample(audit, base / "earlier", audit / "public.key", scratch)


def ours(target_path: Path, key: Path, since: Path | None) -> tuple[int, str]:
    extra = ["--since", str(since)] if since is not None else []
    proc = run_cli("audit", "verify", str(target_path), "--key", str(key), *extra)
    return proc.returncode, proc.stdout + proc.stderr


def theirs(target_path: Path, key: Path, since: Path | None) -> str | None:
    """The specification's verifier: None when it accepts, else its message."""
    try:
        spec_verifier.verify(target_path, read_public(key), since)
    except spec_verifier.Invalid as exc:
        return str(exc)
    return None


def test_the_untouched_directory_and_export_verify_with_both(sample: Sample) -> None:
    out = export(sample, sample.later, "untouched-export")
    for path in (sample.later, sample.earlier, out):
        code, text = ours(path, sample.public_key, None)

        assert code == 0, text
        assert theirs(path, sample.public_key, None) is None
    assert "ok  reddit:" in text


def test_a_kept_checkpoint_is_extended_by_the_later_log(sample: Sample) -> None:
    kept = sample.scratch / "kept-earlier.json"
    proc = run_cli("audit", "checkpoints", str(sample.earlier), "-o", str(kept))
    assert proc.returncode == 0, proc.stderr

    code, text = ours(sample.later, sample.public_key, kept)

    assert code == 0, text
    assert "extending the checkpoints kept in" in text
    assert theirs(sample.later, sample.public_key, kept) is None


def test_a_consistent_rollback_verifies_without_a_kept_checkpoint(sample: Sample) -> None:
    # The limit docs/format.md §5 states: every log and the heads cut back together to an
    # earlier head are a consistent earlier state. Only a kept checkpoint shows it (§10).
    rolled = copy(sample, "rolled-back-alone", sample.earlier)

    code, text = ours(rolled, sample.public_key, None)

    assert code == 0, text


@pytest.mark.parametrize("name", list(CASES))
def test_tampering_is_caught_by_both_verifiers(sample: Sample, name: str) -> None:
    case = CASES[name]
    target = case.make(sample)

    key = sample.public_key if target.pinned else target.path / "public.key"
    code, text = ours(target.path, key, target.since)
    spec = theirs(target.path, key, target.since)

    assert code == 1, text
    assert case.message in text, text
    assert spec is not None, f"the specification's verifier accepts: {name}"


def test_the_export_readme_commands_work_as_written(sample: Sample) -> None:
    import re
    import shlex

    out = export(sample, sample.later, "readme-export")
    later = export(sample, sample.later, "readme-next-export")
    fingerprint = "sha256:" + (sample.later / "public.key").read_text().split("sha256:")[1].strip()
    readme = (out / "README.md").read_text()
    commands = [
        line.replace("\\\n", " ")
        for block in re.findall(r"```sh\n(.*?)```", readme, re.S)
        for line in block.replace("\\\n", " ").splitlines()
        if line.startswith("polite-crawl ")
    ]
    assert len(commands) == 3, commands

    for command in commands:
        command = re.sub(r"sha256:<[^>]*>", fingerprint, command)
        command = command.replace("NEXT-EXPORT", str(later))
        proc = run_cli(*shlex.split(command)[1:], cwd=out)

        assert proc.returncode == 0, (command, proc.stdout, proc.stderr)
    assert ours(out, sample.public_key, None)[0] == 0  # keeping a checkpoint left it intact
