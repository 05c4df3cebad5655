"""The services artifact is cached by a hash of its sources: building it must not change that hash."""

from kt2ops import artifact


def test_building_leaves_the_sources_and_their_hash_unchanged():
    before = artifact.source_hash()
    path = artifact.build(progress=lambda _: None)
    assert path.exists() and path.name == f"kt2ref-{before}.tar.gz"
    assert not (artifact.SOURCE / "build").exists()
    assert artifact.source_hash() == before
    assert artifact.build(progress=lambda _: None) == path  # cached: the second build is the same file
