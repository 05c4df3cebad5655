"""Hash totals kept on disk (a large domain does not fit in memory): the hash per type is the SHA-256 of the
sorted "reference digest" lines, and the differences name each side's missing or differing references."""

import hashlib

from kt2ops.migration.totals import Totals


def _totals(path, rows):
    totals = Totals(path)
    for kind, mark, digest in rows:
        totals.add(kind, mark, digest)
    return totals.close()


def test_hash_per_type_is_of_the_sorted_lines_whatever_the_order_added(tmp_path):
    rows = [("Patient", "k/Patient/b", "2"), ("Patient", "k/Patient/a", "1"), ("Task", "k/CarePlanActivity/t", "3")]
    one, other = _totals(tmp_path / "one", rows), _totals(tmp_path / "other", rows[::-1])
    assert one.hashes == other.hashes and one.hash_total == other.hash_total
    assert one.hashes["Patient"] == hashlib.sha256(b"k/Patient/a 1\nk/Patient/b 2").hexdigest()
    assert one.counts == {"Practitioner": 0, "Patient": 2, "RelatedPerson": 0, "CareTeam": 0,
                          "ActivityDefinition": 0, "Task": 1}
    assert Totals.open(tmp_path / "one").hash_total == one.hash_total  # as written, read again by the Q gate


def test_differences_name_both_sides_in_reference_order_up_to_the_limit(tmp_path):
    source = _totals(tmp_path / "source", [("Patient", "p/a", "1"), ("Patient", "p/b", "2"), ("Task", "t/x", "3")])
    target = _totals(tmp_path / "target", [("Patient", "p/b", "9"), ("Patient", "p/c", "4"), ("Task", "t/x", "3")])
    assert source.differences(target) == ["Patient p/a: missing on the target", "Patient p/b: content differs",
                                          "Patient p/c: not in the source"]
    assert source.differences(target, limit=2) == ["Patient p/a: missing on the target",
                                                   "Patient p/b: content differs"]
    assert source.differences(source) == []


def test_without_leaves_out_the_error_list(tmp_path):
    source = _totals(tmp_path / "source", [("Patient", "p/a", "1"), ("Patient", "p/b", "2")])
    expected = source.without({"p/a"}, tmp_path / "expected")
    assert expected.counts["Patient"] == 1 and expected.marks("Patient") == ["p/b"]
