"""import_sketches: real Quick, Draw! lines, and every kind of bad input.

Each malformed case checks the message (file, line, reason) and that nothing was written.
"""

import io
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from sketches.models import Category, ImportBatch, Sketch
from tests.factories import sample_records

pytestmark = pytest.mark.django_db


def run_import(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_sketches", *map(str, args), stdout=out, stderr=err)
    except CommandError as exc:
        return False, out.getvalue(), err.getvalue() + str(exc)
    return True, out.getvalue(), err.getvalue()


def write_lines(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def good(n=3):
    return sample_records("pig", n)


def test_it_imports_real_simplified_ndjson(tmp_path):
    ok, out, _ = run_import(write_lines(tmp_path / "pig.ndjson", good(5)))
    assert ok
    assert "5 new, 0 already present" in out
    sketch = Sketch.objects.get(key_id=good(1)[0]["key_id"])
    assert sketch.category.name == "pig" and sketch.source == "quickdraw"
    assert sketch.stroke_count == len(good(1)[0]["drawing"])
    assert sketch.split in {"train", "val", "test"}


def test_reimporting_the_same_file_adds_nothing_and_says_so(tmp_path):
    path = write_lines(tmp_path / "pig.ndjson", good(5))
    run_import(path)
    ok, out, _ = run_import(path)
    assert ok and "0 new, 5 already present (nothing to add)" in out
    assert Sketch.objects.count() == 5


def test_it_imports_raw_ndjson_with_a_timing_array(tmp_path):
    records = good(2)
    for record in records:
        record["drawing"] = [[xs, ys, list(range(len(xs)))] for xs, ys in record["drawing"]]
        record["timestamp"] = "2017-03-01 20:41:36.70725 UTC"
        record["countrycode"] = "GB"
        record["recognized"] = True
    ok, _, err = run_import(write_lines(tmp_path / "pig.ndjson", records))
    assert ok, err
    sketch = Sketch.objects.first()
    assert sketch.countrycode == "GB" and sketch.recognized is True and sketch.drawn_at.year == 2017


def sketch_rnn_npz(path, splits=None):
    """A sketch-rnn style archive built from real sample drawings (stroke-3, int16)."""

    def stroke3(record):
        points = []
        for xs, ys in record["drawing"]:
            for k, (x, y) in enumerate(zip(xs, ys)):
                points.append([x, y, 1 if k == len(xs) - 1 else 0])
        array = np.array(points, dtype=np.int16)
        array[1:, :2] = np.diff(array[:, :2], axis=0)
        return array

    records = good(6)
    arrays = splits or {
        "train": [stroke3(r) for r in records[:3]],
        "valid": [stroke3(records[3])],
        "test": [stroke3(r) for r in records[4:]],
    }
    as_objects = {}
    for key, items in arrays.items():
        holder = np.empty(len(items), dtype=object)
        holder[:] = items
        as_objects[key] = holder
    np.savez(path, **as_objects)
    return path


def test_it_imports_sketch_rnn_npz_in_stroke3(tmp_path):
    ok, out, err = run_import(sketch_rnn_npz(tmp_path / "pig.npz"))
    assert ok, err
    assert "6 new" in out
    assert set(Sketch.objects.values_list("key_id", flat=True)) >= {"sketchrnn_train-0", "sketchrnn_test-1"}
    assert Sketch.objects.filter(source="sketchrnn", category__name="pig").count() == 6


def test_it_refuses_an_npz_that_would_run_code_when_unpickled(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    holder = np.empty(1, dtype=object)
    holder[0] = Evil()
    path = tmp_path / "evil.npz"
    np.savez(path, train=holder, valid=holder, test=holder)
    ok, _, err = run_import(path)
    assert not ok and "evil.npz" in err and "refused to load builtins.print" in err
    assert Sketch.objects.count() == 0


def test_limit_reads_at_most_n_records(tmp_path):
    ok, out, _ = run_import(write_lines(tmp_path / "pig.ndjson", good(6)), "--limit", "2")
    assert ok and Sketch.objects.count() == 2


def replace_line(records, index, value):
    lines = [json.dumps(r) for r in records]
    lines[index] = value if isinstance(value, str) else json.dumps(value)
    return "\n".join(lines) + "\n"


def broken(record_change):
    records = good(3)
    record = json.loads(json.dumps(records[1]))
    record_change(record)
    return replace_line(records, 1, record)


MALFORMED = {
    "not json": (replace_line(good(3), 1, "{not json"), "line 2: not valid JSON"),
    "wrong schema: array": (replace_line(good(3), 1, "[1, 2]"), "line 2: expected a JSON object"),
    "wrong schema: no drawing": (broken(lambda r: r.pop("drawing")), "line 2: missing field 'drawing'"),
    "wrong schema: word not a string": (
        broken(lambda r: r.update(word=5)),
        "'word' must be a non-empty string",
    ),
    "empty drawing": (broken(lambda r: r.update(drawing=[])), "line 2: empty drawing"),
    "empty stroke": (broken(lambda r: r["drawing"].append([[], []])), "empty stroke"),
    "unequal x/y": (broken(lambda r: r["drawing"][0][1].pop()), "x/y arrays of unequal length"),
    "not a number": (broken(lambda r: r["drawing"][0][0].__setitem__(0, "12")), "'12' is not a number"),
    "boolean as number": (broken(lambda r: r["drawing"][0][0].__setitem__(0, True)), "True is not a number"),
    "NaN": (
        replace_line(good(3), 1, json.dumps(good(3)[1]).replace("[[[", "[[[NaN, ", 1)),
        "NaN or infinite",
    ),
    "infinite": (
        replace_line(good(3), 1, json.dumps(good(3)[1]).replace("[[[", "[[[Infinity, ", 1)),
        "NaN or infinite",
    ),
    "absurd magnitude": (broken(lambda r: r["drawing"][0][0].__setitem__(0, 1e12)), "absurd magnitude"),
    "too many points": (
        broken(lambda r: r.update(drawing=[[list(range(20001)), list(range(20001))]])),
        "more than 20,000 points",
    ),
    "category mismatch": (
        broken(lambda r: r.update(word="cat")),
        "word 'cat' does not match the category 'pig'",
    ),
    "truncated file": (
        "\n".join(json.dumps(r) for r in good(3))[:-40],
        "line 3: truncated record at end of file",
    ),
    "duplicate key": (replace_line(good(3), 1, json.dumps(good(3)[0])), "appears twice in this file"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_file_is_refused_whole_with_a_clear_message(tmp_path, case):
    content, expected = MALFORMED[case]
    path = tmp_path / "pig.ndjson"
    path.write_text(content)
    ok, _, err = run_import(path, "--category", "pig")
    assert not ok
    assert "pig.ndjson" in err and expected in err
    assert "refused, nothing written" in err
    assert Sketch.objects.count() == 0 and Category.objects.count() == 0


def test_skip_invalid_imports_the_valid_lines_and_reports_each_skipped_one(tmp_path):
    records = good(4)
    text = replace_line(records, 1, "{oops")
    text = text.replace(json.dumps(records[2]), json.dumps({**records[2], "drawing": []}))
    path = tmp_path / "pig.ndjson"
    path.write_text(text)
    ok, out, err = run_import(path, "--skip-invalid")
    assert ok
    assert "skipped: pig.ndjson:line 2: not valid JSON" in err
    assert "skipped: pig.ndjson:line 3: empty drawing" in err
    assert "2 new, 0 already present, 2 skipped" in out
    assert Sketch.objects.count() == 2


@pytest.mark.parametrize(
    "name,content,expected",
    [
        ("pig.csv", b"a,b\n", "unsupported file type '.csv'"),
        ("pig.ndjson", b"PK\x03\x04binary", "binary content in an ndjson file"),
        ("pig.npz", b'{"word": "pig"}\n', "not a .npz archive"),
        ("pig.npz", b"PK\x03\x04truncated", "corrupt or truncated .npz archive"),
        ("pig.ndjson", b"", "no sketches in the file"),
    ],
)
def test_the_wrong_file_type_is_refused(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    ok, _, err = run_import(path)
    assert not ok and expected in err and name in err
    assert Sketch.objects.count() == 0


def test_a_truncated_npz_is_refused(tmp_path):
    path = sketch_rnn_npz(tmp_path / "pig.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    ok, _, err = run_import(path)
    assert not ok and "corrupt or truncated" in err
    assert Sketch.objects.count() == 0


def test_an_npz_without_the_sketch_rnn_splits_is_refused(tmp_path):
    path = tmp_path / "pig.npz"
    np.savez(path, sketches=np.zeros((2, 5, 3)))
    ok, _, err = run_import(path)
    assert not ok and "missing array(s) train, valid, test" in err


def test_one_bad_file_does_not_stop_the_good_ones(tmp_path):
    good_path = write_lines(tmp_path / "pig.ndjson", good(2))
    bad_path = tmp_path / "face.ndjson"
    bad_path.write_text("{nope\n")
    ok, out, err = run_import(good_path, bad_path)
    assert not ok and "1 file(s) refused: face.ndjson" in err
    assert Sketch.objects.count() == 2


def test_a_missing_path_is_reported(tmp_path):
    ok, _, err = run_import(tmp_path / "nope.ndjson")
    assert not ok and "no such file" in err


def test_it_imports_the_whole_shared_corpus_and_a_second_run_adds_nothing(shared_data_dir):
    files = sorted(shared_data_dir.glob("*.ndjson"))
    ok, out, err = run_import(*files)
    assert ok, err
    assert "Total: 26100 new, 0 already present." in out
    assert Sketch.objects.count() == 26100 and Category.objects.count() == 25
    ok, out, _ = run_import(*files)
    assert ok and "Total: 0 new, 26100 already present." in out
    assert ImportBatch.objects.count() == 0  # the command does not need a stored upload
