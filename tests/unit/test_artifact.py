"""The services' artifacts are cached by a hash of their sources: building one must not change that hash, and the
jar carries a checksum that matches it."""

import hashlib

import pytest

from kt2ops import artifact


@pytest.mark.parametrize(("name", "suffix", "build_dir"), [("kt2ref", ".tar.gz", "build"),
                                                            ("kt2fhir", ".jar", "target")])
def test_building_leaves_the_sources_and_their_hash_unchanged(name, suffix, build_dir):
    before = artifact.source_hash(name)
    path = artifact.build(name, progress=lambda _: None)
    assert path.exists() and path.name == f"{name}-{before}{suffix}"
    assert not (artifact.SERVICES / name / build_dir).exists()
    assert artifact.source_hash(name) == before
    assert artifact.build(name, progress=lambda _: None) == path  # cached: the second build is the same file


def test_the_jar_checksum_is_the_jars():
    path = artifact.build("kt2fhir", progress=lambda _: None)
    recorded, name = path.with_name(path.name + ".sha256").read_text().split()
    assert name == path.name and recorded == hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_unknown_artifact_is_refused_by_name():
    with pytest.raises(artifact.ArtifactError, match="unknown artifact 'kt3'"):
        artifact.build("kt3")
